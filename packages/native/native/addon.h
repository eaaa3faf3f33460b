// Shared between the N-API glue files (addon.cc: syscalls; poll.cc: libuv readiness).
#ifndef EFFECT_CONNECT_ADDON_H_
#define EFFECT_CONNECT_ADDON_H_

#include <napi.h>

#include <unordered_map>
#include <unordered_set>

namespace ec {

struct PollReq;

// Bits of poll()'s `events` argument and of the callback's `events` (our own values, not
// libuv's or the kernel's).
constexpr int kPollReadable = 1;
constexpr int kPollWritable = 2;
// Reported alongside the requested bits when the kernel flagged POLLERR: the socket has a
// pending error (read it with getsockopt(SO_ERROR)).
constexpr int kPollError = 4;

// The largest maxBytes recvfrom takes: 1 MiB, above any UDP datagram (64 KiB) and a unix
// datagram under Linux's default socket buffers (about 208 KiB).
constexpr int kRecvMax = 1 << 20;

// Per-environment state (the main thread and every worker thread get their own).
struct AddonData {
  // Active polls and watches by file descriptor: one at most per fd (libuv misbehaves with
  // two), and the list that close(fd) and environment teardown go through.
  std::unordered_map<int, PollReq*> polls;
  // Polls and watches retired by close(fd) whose callback is still to be called (from
  // uv_close's callback), so that teardown can drop them before JavaScript is gone.
  std::unordered_set<PollReq*> deferred;
  // The PollHandle and WatchHandle classes.
  Napi::FunctionReference pollHandleClass;
  Napi::FunctionReference watchHandleClass;
  // Set by the handle constructors' caller: the request the next instance belongs to.
  PollReq* constructing = nullptr;
  // recvfrom's receive buffer for requests up to its size (a UDP datagram's largest payload
  // fits); larger requests allocate for the call only.
  uint8_t scratch[65536];
};

inline AddonData* Data(napi_env env) { return Napi::Env(env).GetInstanceData<AddonData>(); }

// Argument helpers: on a wrong JS type they throw a TypeError (as a pending exception: the
// addon is built without C++ exceptions) and return false.
bool ArgFd(const Napi::CallbackInfo& info, size_t index, int* out);
bool ArgInt(const Napi::CallbackInfo& info, size_t index, const char* name, int* out);

// poll.cc
void InitPoll(Napi::Env env, Napi::Object exports, AddonData* data);
Napi::Value Poll(const Napi::CallbackInfo& info);
Napi::Value Watch(const Napi::CallbackInfo& info);
// Stops and closes the poll or watch on `fd`, if any, before the descriptor is closed: libuv
// would otherwise keep watching a number the kernel may hand to the next socket. Its callback
// is called later (from the handle's close callback) with status -EBADF, unless cancel() (a
// watch: close()) comes first.
void ClosePollsOnFd(napi_env env, AddonData* data, int fd);

}  // namespace ec

#endif  // EFFECT_CONNECT_ADDON_H_
