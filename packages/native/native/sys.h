// The portable socket API of the addon, in the spirit of Rust's socket2: a thin layer over the
// BSD socket calls with one calling convention and no JavaScript in sight. The N-API glue
// (addon.cc) converts arguments and results; the platform file (sys_unix.cc) makes the calls.
//
// Convention, without exception: every function returns `>= 0` on success and `-errno` on
// failure (the Linux kernel's own convention), reads errno immediately after the one call
// that failed, and never retries. Nothing here allocates, throws or blocks: every socket is
// created non-blocking and every transfer passes MSG_DONTWAIT.
#ifndef EFFECT_CONNECT_SYS_H_
#define EFFECT_CONNECT_SYS_H_

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace ec {
namespace sys {

// A socket address with its length, exactly as it goes to or comes from the kernel.
struct SockAddr {
  sockaddr_storage storage;
  socklen_t len;
};

// Size of sun_path on this platform (108 on Linux, 104 on macOS and FreeBSD).
constexpr size_t kSunPathMax = sizeof(reinterpret_cast<sockaddr_un*>(0)->sun_path);

// Builders: fill `out` and return 0, or return -errno for input the kernel cannot be given.
// inet_pton(3) for AF_INET; anything but a dotted quad -> -EINVAL.
int MakeInet(SockAddr* out, const char* address, uint16_t port);
// inet_pton(3) for AF_INET6 (no brackets, no zone: the zone is `scopeId`) -> -EINVAL otherwise.
int MakeInet6(SockAddr* out, const char* address, uint16_t port, uint32_t flowInfo,
              uint32_t scopeId);
// AF_UNIX from the raw sun_path bytes. An abstract name (Linux) starts with a 0 byte and is
// taken as is; a path gets a NUL terminator when there is room for one. More bytes than
// sun_path holds -> -ENAMETOOLONG. The length passed to the kernel is offsetof(sun_path) +
// len, plus one for a path's terminator when it fits. No bytes: the unnamed address (Linux
// autobinds it in bind(2)).
int MakeUnix(SockAddr* out, const uint8_t* path, size_t len);
// A bare sockaddr whose family is AF_UNSPEC: connect(2) to it dissolves a datagram association.
void MakeUnspec(SockAddr* out);

// Decoded view of a kernel-returned address (see DecodeUnix for AF_UNIX).
// For AF_UNIX: the sun_path bytes to hand back to the caller. The length reported by the
// kernel is clamped to sizeof(sockaddr_un) and the path is never assumed NUL terminated: a
// path is cut at its first NUL (if any), an abstract name is kept byte for byte, an unnamed
// socket gives length 0.
void DecodeUnix(const SockAddr& addr, const uint8_t** path, size_t* len);

// socket(2) with SOCK_NONBLOCK | SOCK_CLOEXEC (fcntl(2) on platforms without those flags).
int Socket(int domain, int type);
// setsockopt(2) / getsockopt(2) for an int-valued option. GetOptInt stores the value in *value.
int SetOptInt(int fd, int level, int name, int value);
int GetOptInt(int fd, int level, int name, int* value);
// bind(2), connect(2), listen(2): exactly one call, the kernel's answer as is.
int Bind(int fd, const SockAddr& addr);
int Connect(int fd, const SockAddr& addr);
int Listen(int fd, int backlog);
// close(2). EINTR counts as closed (Linux and FreeBSD release the descriptor before they can be
// interrupted; retrying could close a descriptor another thread just got), so it returns 0.
int Close(int fd);
// getsockname(2) / getpeername(2) into `out`.
int GetSockName(int fd, SockAddr* out);
int GetPeerName(int fd, SockAddr* out);
// poll(2) on one fd with a zero timeout: never waits. Returns 0 and the kernel's revents
// (POLLIN/POLLOUT/POLLERR/POLLHUP) in *revents, or -errno. Not handled: waiting (that is the
// libuv poll's job, in poll.cc).
int PollNow(int fd, short events, short* revents);
// send(2) / sendto(2) with MSG_DONTWAIT and MSG_NOSIGNAL: the number of bytes queued.
ssize_t Send(int fd, const void* data, size_t len);
ssize_t SendTo(int fd, const void* data, size_t len, const SockAddr& addr);
// recvmsg(2) with MSG_DONTWAIT: bytes received; the sender goes to `from` and whether the
// datagram was longer than `len` (and cut) to `truncated`.
ssize_t RecvFrom(int fd, void* data, size_t len, SockAddr* from, bool* truncated);

}  // namespace sys
}  // namespace ec

#endif  // EFFECT_CONNECT_SYS_H_
