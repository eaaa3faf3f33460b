// Keeps the addon loadable with the libstdc++ of every glibc system Node 24 runs on
// (GLIBCXX_3.4.21, GCC 5), not only GCC 11's and later (GLIBCXX_3.4.29): GCC 11's
// std::allocator calls std::__throw_bad_array_new_length() for an impossible size, a function
// libstdc++ exports only from 3.4.29 on. This hidden copy binds those calls inside the addon.
// Under -fno-exceptions the throw it replaces would terminate the process; so does this.
#include <cstdlib>
#include <new>

#if defined(__GLIBCXX__) && defined(_GLIBCXX_RELEASE) && _GLIBCXX_RELEASE >= 11
namespace std {
__attribute__((visibility("hidden"))) void __throw_bad_array_new_length() { std::abort(); }
}  // namespace std
#endif
