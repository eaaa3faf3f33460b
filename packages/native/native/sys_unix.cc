// The platform file: the POSIX (Linux first, macOS/BSD where it costs nothing) implementation
// of sys.h. Every function makes one system call and returns its result or -errno.
#include "sys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

namespace ec {
namespace sys {

namespace {

inline int Fail() { return -errno; }

}  // namespace

// inet_pton(3) into a sockaddr_in. Not handled: inet_aton's shorthand forms ("127.1").
int MakeInet(SockAddr* out, const char* address, uint16_t port) {
  sockaddr_in* sin = reinterpret_cast<sockaddr_in*>(&out->storage);
  memset(sin, 0, sizeof(*sin));
  if (inet_pton(AF_INET, address, &sin->sin_addr) != 1) return -EINVAL;
  sin->sin_family = AF_INET;
  sin->sin_port = htons(port);
#ifdef __APPLE__
  sin->sin_len = sizeof(*sin);
#endif
  out->len = sizeof(*sin);
  return 0;
}

// inet_pton(3) into a sockaddr_in6. Not handled: "%zone" suffixes (scopeId carries the zone).
int MakeInet6(SockAddr* out, const char* address, uint16_t port, uint32_t flowInfo,
              uint32_t scopeId) {
  sockaddr_in6* sin6 = reinterpret_cast<sockaddr_in6*>(&out->storage);
  memset(sin6, 0, sizeof(*sin6));
  if (inet_pton(AF_INET6, address, &sin6->sin6_addr) != 1) return -EINVAL;
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  sin6->sin6_flowinfo = htonl(flowInfo);
  sin6->sin6_scope_id = scopeId;
#ifdef __APPLE__
  sin6->sin6_len = sizeof(*sin6);
#endif
  out->len = sizeof(*sin6);
  return 0;
}

// sockaddr_un from raw bytes (no syscall). Not handled: NUL bytes inside a path (the kernel
// stops at the first one; callers reject them earlier).
int MakeUnix(SockAddr* out, const uint8_t* path, size_t len) {
  if (len > kSunPathMax) return -ENAMETOOLONG;
  sockaddr_un* sun = reinterpret_cast<sockaddr_un*>(&out->storage);
  // Only the header is cleared: the bytes past the name are not part of the address.
  memset(sun, 0, offsetof(sockaddr_un, sun_path));
  sun->sun_family = AF_UNIX;
  if (len > 0) memcpy(sun->sun_path, path, len);
  size_t addrlen = offsetof(sockaddr_un, sun_path) + len;
  // A path (first byte not 0): terminate it and count the terminator, as SUN_LEN does. A path
  // of exactly kSunPathMax bytes goes unterminated, which Linux accepts (it terminates a
  // copy). An empty address stays unnamed (length offsetof(sun_path)): bind(2) autobinds it
  // on Linux, connect(2) says EINVAL.
  if (len > 0 && path[0] != 0 && len < kSunPathMax) {
    sun->sun_path[len] = 0;
    addrlen += 1;
  }
#if defined(__APPLE__) || defined(__FreeBSD__)
  sun->sun_len = static_cast<uint8_t>(addrlen);
#endif
  out->len = static_cast<socklen_t>(addrlen);
  return 0;
}

// A bare AF_UNSPEC sockaddr (no syscall).
void MakeUnspec(SockAddr* out) {
  memset(&out->storage, 0, sizeof(sockaddr));
  out->storage.ss_family = AF_UNSPEC;
  out->len = sizeof(sockaddr);
}

// Decodes a kernel-returned sockaddr_un (no syscall); see sys.h.
void DecodeUnix(const SockAddr& addr, const uint8_t** path, size_t* len) {
  const sockaddr_un* sun = reinterpret_cast<const sockaddr_un*>(&addr.storage);
  size_t total = addr.len;
  if (total > sizeof(sockaddr_un)) total = sizeof(sockaddr_un);
  const size_t header = offsetof(sockaddr_un, sun_path);
  size_t n = total > header ? total - header : 0;
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(sun->sun_path);
  if (n > 0 && bytes[0] != 0) {
    // A path: it ends at its first NUL, or at the reported length if it has none.
    const void* nul = memchr(bytes, 0, n);
    if (nul != nullptr) n = static_cast<const uint8_t*>(nul) - bytes;
  }
  *path = bytes;
  *len = n;
}

// socket(2). Not handled: protocol selection (always 0, the family's default protocol).
int Socket(int domain, int type) {
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd >= 0 ? fd : Fail();
#else
  // Not atomic with respect to a concurrent fork+exec in another thread: such platforms have
  // no way to do better.
  int fd = socket(domain, type, 0);
  if (fd < 0) return Fail();
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
#ifdef SO_NOSIGPIPE
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#endif
  return fd;
#endif
}

// setsockopt(2) with an int value. Not handled: options whose value is not an int.
int SetOptInt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : Fail();
}

// getsockopt(2) of an int value. Not handled: options whose value is not an int (a shorter
// value is zero-extended, a longer one is cut by the kernel).
int GetOptInt(int fd, int level, int name, int* value) {
  int v = 0;
  socklen_t len = sizeof(v);
  if (getsockopt(fd, level, name, &v, &len) != 0) return Fail();
  *value = v;
  return 0;
}

// bind(2). Not handled: removing a stale unix socket file (the caller decides).
int Bind(int fd, const SockAddr& addr) {
  return bind(fd, reinterpret_cast<const sockaddr*>(&addr.storage), addr.len) == 0 ? 0 : Fail();
}

// connect(2), once. Not handled: EINPROGRESS/EINTR follow-up (poll + SO_ERROR, by the caller).
int Connect(int fd, const SockAddr& addr) {
  return connect(fd, reinterpret_cast<const sockaddr*>(&addr.storage), addr.len) == 0 ? 0
                                                                                       : Fail();
}

// poll(2), timeout 0. Not handled: EINTR (cannot happen without a wait; the caller sees it).
int PollNow(int fd, short events, short* revents) {
  pollfd p = {fd, events, 0};
  int r = poll(&p, 1, 0);
  if (r < 0) return Fail();
  *revents = p.revents;
  return 0;
}

// listen(2). Not handled: accept(2).
int Listen(int fd, int backlog) { return listen(fd, backlog) == 0 ? 0 : Fail(); }

// close(2); EINTR -> 0 (see sys.h). Not handled: macOS's close$NOCANCEL subtleties.
int Close(int fd) {
  if (close(fd) == 0) return 0;
  int err = errno;
  return err == EINTR ? 0 : -err;
}

// getsockname(2). Not handled: decoding (see DecodeUnix and the glue).
int GetSockName(int fd, SockAddr* out) {
  memset(&out->storage, 0, sizeof(out->storage));
  out->len = sizeof(out->storage);
  return getsockname(fd, reinterpret_cast<sockaddr*>(&out->storage), &out->len) == 0 ? 0
                                                                                      : Fail();
}

// getpeername(2). Not handled: decoding (see DecodeUnix and the glue).
int GetPeerName(int fd, SockAddr* out) {
  memset(&out->storage, 0, sizeof(out->storage));
  out->len = sizeof(out->storage);
  return getpeername(fd, reinterpret_cast<sockaddr*>(&out->storage), &out->len) == 0 ? 0
                                                                                      : Fail();
}

#ifdef MSG_NOSIGNAL
constexpr int kSendFlags = MSG_DONTWAIT | MSG_NOSIGNAL;
#else
constexpr int kSendFlags = MSG_DONTWAIT;  // SO_NOSIGPIPE was set by Socket()
#endif

// send(2), non-blocking, no SIGPIPE. Not handled: partial writes.
ssize_t Send(int fd, const void* data, size_t len) {
  ssize_t n = send(fd, data, len, kSendFlags);
  return n >= 0 ? n : Fail();
}

// sendto(2), non-blocking, no SIGPIPE. Not handled: partial writes.
ssize_t SendTo(int fd, const void* data, size_t len, const SockAddr& addr) {
  ssize_t n = sendto(fd, data, len, kSendFlags, reinterpret_cast<const sockaddr*>(&addr.storage),
                     addr.len);
  return n >= 0 ? n : Fail();
}

// recvmsg(2), non-blocking. Not handled: ancillary data, MSG_PEEK.
ssize_t RecvFrom(int fd, void* data, size_t len, SockAddr* from, bool* truncated) {
  // The family is preset so that a kernel that reports no address (a connected stream socket
  // gives msg_namelen 0) leaves a well-formed AF_UNSPEC behind.
  memset(&from->storage, 0, sizeof(sockaddr));
  from->storage.ss_family = AF_UNSPEC;
  iovec iov;
  iov.iov_base = data;
  iov.iov_len = len;
  msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_name = &from->storage;
  msg.msg_namelen = sizeof(from->storage);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
  if (n < 0) return Fail();
  from->len = msg.msg_namelen;
  *truncated = (msg.msg_flags & MSG_TRUNC) != 0;
  return n;
}

}  // namespace sys
}  // namespace ec
