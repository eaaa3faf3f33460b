// The N-API glue: converts JavaScript arguments for sys.h, and sys.h results back.
//
// Conventions (the TypeScript layer in src/internal/binding.ts relies on them):
//  * every syscall wrapper is synchronous and returns a number, >= 0 on success and -errno on
//    failure; calls that produce an object return the object or a negative errno number;
//  * an OS error never throws; only a JavaScript argument of the wrong type throws a TypeError;
//  * nothing loops on EINTR or EAGAIN: one call, the kernel's answer.
//
// A socket address crosses the boundary as
//   { family, address, port, flowInfo?, scopeId? }
// with `address` a string for AF_INET / AF_INET6 and a Uint8Array of raw sun_path bytes for
// AF_UNIX. See sockaddr handling below.
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <string>

#include "addon.h"
#include "sys.h"

namespace ec {

namespace {

constexpr int kThrown = 1;  // ReadSockAddr: a TypeError is pending

inline Napi::Value Num(Napi::Env env, double value) { return Napi::Number::New(env, value); }

// Reads an integral number in [lo, hi]. Returns 0, -EINVAL when out of range or not integral,
// or kThrown when it is not a number at all.
int ReadInteger(Napi::Env env, Napi::Value v, const char* typeError, double lo, double hi,
                double* out) {
  if (!v.IsNumber()) {
    Napi::TypeError::New(env, typeError).ThrowAsJavaScriptException();
    return kThrown;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != floor(d)) return -EINVAL;
  *out = d;
  return 0;
}

// JS SockAddr -> sys::SockAddr. Returns 0, a negative errno for a value the kernel cannot be
// given (bad address text -> -EINVAL, sun_path overflow -> -ENAMETOOLONG, unknown family ->
// -EAFNOSUPPORT, port/flowInfo/scopeId out of range -> -EINVAL) or kThrown after a TypeError.
int ReadSockAddr(Napi::Env env, Napi::Value value, sys::SockAddr* out) {
  if (!value.IsObject()) {
    Napi::TypeError::New(env, "address must be a SockAddr object").ThrowAsJavaScriptException();
    return kThrown;
  }
  Napi::Object obj = value.As<Napi::Object>();
  double family;
  int r = ReadInteger(env, obj.Get("family"), "address.family must be a number", 0, 65535,
                      &family);
  if (r != 0) return r == -EINVAL ? -EAFNOSUPPORT : r;

  if (family == AF_UNSPEC) {
    sys::MakeUnspec(out);
    return 0;
  }
  if (family == AF_UNIX) {
    Napi::Value a = obj.Get("address");
    if (!a.IsTypedArray() || a.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      Napi::TypeError::New(env, "a unix address must be a Uint8Array of sun_path bytes")
          .ThrowAsJavaScriptException();
      return kThrown;
    }
    Napi::Uint8Array bytes = a.As<Napi::Uint8Array>();
    return sys::MakeUnix(out, bytes.Data(), bytes.ElementLength());
  }
  if (family != AF_INET && family != AF_INET6) return -EAFNOSUPPORT;

  Napi::Value a = obj.Get("address");
  if (!a.IsString()) {
    Napi::TypeError::New(env, "an inet address must be a string").ThrowAsJavaScriptException();
    return kThrown;
  }
  // INET6_ADDRSTRLEN is 46; anything that does not fit is not an address.
  char text[64];
  size_t textLen = 0;
  napi_get_value_string_utf8(env, a, text, sizeof(text), &textLen);
  // A longer string was cut; an embedded NUL would make inet_pton read a prefix.
  if (textLen >= sizeof(text) - 1 || strlen(text) != textLen) return -EINVAL;
  double port;
  r = ReadInteger(env, obj.Get("port"), "address.port must be a number", 0, 65535, &port);
  if (r != 0) return r;
  if (family == AF_INET) return sys::MakeInet(out, text, static_cast<uint16_t>(port));

  double flowInfo = 0, scopeId = 0;
  Napi::Value f = obj.Get("flowInfo");
  if (!f.IsUndefined()) {
    r = ReadInteger(env, f, "address.flowInfo must be a number", 0, 4294967295.0, &flowInfo);
    if (r != 0) return r;
  }
  Napi::Value s = obj.Get("scopeId");
  if (!s.IsUndefined()) {
    r = ReadInteger(env, s, "address.scopeId must be a number", 0, 4294967295.0, &scopeId);
    if (r != 0) return r;
  }
  return sys::MakeInet6(out, text, static_cast<uint16_t>(port), static_cast<uint32_t>(flowInfo),
                        static_cast<uint32_t>(scopeId));
}

Napi::Uint8Array CopyBytes(Napi::Env env, const uint8_t* bytes, size_t len) {
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, len);
  if (len > 0) memcpy(buffer.Data(), bytes, len);
  return Napi::Uint8Array::New(env, len, buffer, 0);
}

// sys::SockAddr -> JS SockAddr. AF_UNIX: Uint8Array (see sys::DecodeUnix), port 0. AF_INET6
// always carries flowInfo and scopeId. Any other family (AF_UNSPEC when the kernel gave no
// address) -> { family, address: "", port: 0 }.
Napi::Object WriteSockAddr(Napi::Env env, const sys::SockAddr& addr) {
  Napi::Object obj = Napi::Object::New(env);
  const int family = addr.len >= sizeof(sa_family_t) ? addr.storage.ss_family : AF_UNSPEC;
  obj.Set("family", Num(env, family));
  if (family == AF_INET && addr.len >= sizeof(sockaddr_in)) {
    const sockaddr_in* sin = reinterpret_cast<const sockaddr_in*>(&addr.storage);
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
    obj.Set("address", Napi::String::New(env, text));
    obj.Set("port", Num(env, ntohs(sin->sin_port)));
  } else if (family == AF_INET6 && addr.len >= sizeof(sockaddr_in6)) {
    const sockaddr_in6* sin6 = reinterpret_cast<const sockaddr_in6*>(&addr.storage);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
    obj.Set("address", Napi::String::New(env, text));
    obj.Set("port", Num(env, ntohs(sin6->sin6_port)));
    obj.Set("flowInfo", Num(env, ntohl(sin6->sin6_flowinfo)));
    obj.Set("scopeId", Num(env, sin6->sin6_scope_id));
  } else if (family == AF_UNIX) {
    const uint8_t* path;
    size_t len;
    sys::DecodeUnix(addr, &path, &len);
    obj.Set("address", CopyBytes(env, path, len));
    obj.Set("port", Num(env, 0));
  } else {
    obj.Set("address", Napi::String::New(env, ""));
    obj.Set("port", Num(env, 0));
  }
  return obj;
}

// Bytes of a TypedArray or DataView argument, or a TypeError.
bool ArgBytes(const Napi::CallbackInfo& info, size_t index, const uint8_t** data, size_t* len) {
  napi_env env = info.Env();
  napi_value v = info[index];
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (is) {
    napi_typedarray_type type;
    size_t length;
    void* p;
    napi_get_typedarray_info(env, v, &type, &length, &p, nullptr, nullptr);
    size_t size = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: size = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: size = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: size = 8;
        break;
      default: size = 1;
    }
    *data = static_cast<const uint8_t*>(p);
    *len = length * size;
    return true;
  }
  napi_is_dataview(env, v, &is);
  if (is) {
    size_t length;
    void* p;
    napi_get_dataview_info(env, v, &length, &p, nullptr, nullptr);
    *data = static_cast<const uint8_t*>(p);
    *len = length;
    return true;
  }
  Napi::TypeError::New(env, "data must be a Uint8Array").ThrowAsJavaScriptException();
  return false;
}

// --- exported functions ------------------------------------------------------------------

// socket(2) with type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol 0. Returns the fd or -errno.
// Does not handle: a protocol other than the family's default.
Napi::Value Socket(const Napi::CallbackInfo& info) {
  int domain, type;
  if (!ArgInt(info, 0, "domain", &domain) || !ArgInt(info, 1, "type", &type)) {
    return info.Env().Undefined();
  }
  return Num(info.Env(), sys::Socket(domain, type));
}

// setsockopt(2) with an int value. Returns 0 or -errno. Does not handle: struct-valued options
// (SO_LINGER, SO_RCVTIMEO, ...).
Napi::Value SetSockOptInt(const Napi::CallbackInfo& info) {
  int fd, level, name, value;
  if (!ArgFd(info, 0, &fd) || !ArgInt(info, 1, "level", &level) ||
      !ArgInt(info, 2, "name", &name) || !ArgInt(info, 3, "value", &value)) {
    return info.Env().Undefined();
  }
  return Num(info.Env(), sys::SetOptInt(fd, level, name, value));
}

// getsockopt(2) of an int value. Returns the value (>= 0) or -errno; SO_ERROR gives the
// pending error as a POSITIVE errno, or 0, and clears it. Does not handle: struct-valued
// options, or int options whose value may be negative (indistinguishable from an errno).
Napi::Value GetSockOptInt(const Napi::CallbackInfo& info) {
  int fd, level, name;
  if (!ArgFd(info, 0, &fd) || !ArgInt(info, 1, "level", &level) ||
      !ArgInt(info, 2, "name", &name)) {
    return info.Env().Undefined();
  }
  int value = 0;
  int r = sys::GetOptInt(fd, level, name, &value);
  return Num(info.Env(), r < 0 ? r : value);
}

// poll(2) with a zero timeout: the readiness bits (POLL_READABLE / POLL_WRITABLE, plus
// POLL_ERROR for POLLERR or POLLHUP) set now, 0 for none, or -errno. A connect to loopback has
// usually finished by the time connect(2) returns EINPROGRESS: this asks without a loop turn.
// Does not handle: waiting (see poll, the libuv one-shot), POLLNVAL (a closed fd: -EBADF).
Napi::Value PollNow(const Napi::CallbackInfo& info) {
  int fd, events;
  if (!ArgFd(info, 0, &fd) || !ArgInt(info, 1, "events", &events)) return info.Env().Undefined();
  if (events == 0 || (events & ~(kPollReadable | kPollWritable)) != 0) return Num(info.Env(), -EINVAL);
  short revents = 0;
  int r = sys::PollNow(fd, static_cast<short>(((events & kPollReadable) ? POLLIN : 0) |
                                              ((events & kPollWritable) ? POLLOUT : 0)),
                       &revents);
  if (r < 0) return Num(info.Env(), r);
  if (revents & POLLNVAL) return Num(info.Env(), -EBADF);
  int ready = ((revents & POLLIN) ? kPollReadable : 0) | ((revents & POLLOUT) ? kPollWritable : 0) |
              ((revents & (POLLERR | POLLHUP)) ? kPollError : 0);
  return Num(info.Env(), ready);
}

// The shape bind and connect share: (fd, address) -> the call's result, or the address
// conversion error, without a system call.
template <int (*Call)(int, const sys::SockAddr&)>
Napi::Value FdAndAddress(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return info.Env().Undefined();
  sys::SockAddr addr;
  int r = ReadSockAddr(info.Env(), info[1], &addr);
  if (r == kThrown) return info.Env().Undefined();
  if (r < 0) return Num(info.Env(), r);
  return Num(info.Env(), Call(fd, addr));
}

// bind(2). Returns 0 or -errno (also the address conversion errors of ReadSockAddr).
// Does not handle: unlinking a stale unix socket file first (that is the caller's decision).
Napi::Value Bind(const Napi::CallbackInfo& info) { return FdAndAddress<sys::Bind>(info); }

// connect(2): exactly one call. Returns 0, or -errno as the kernel said it: -EINPROGRESS for a
// connection under way on the non-blocking socket, -EINTR, -EALREADY, -EISCONN, ... Does not
// handle: waiting (poll for writable, then getsockopt(SO_ERROR)), or retrying after EINTR.
Napi::Value Connect(const Napi::CallbackInfo& info) { return FdAndAddress<sys::Connect>(info); }

// listen(2). Returns 0 or -errno. Does not handle: accept(2) (there is none in this addon).
Napi::Value Listen(const Napi::CallbackInfo& info) {
  int fd, backlog;
  if (!ArgFd(info, 0, &fd) || !ArgInt(info, 1, "backlog", &backlog)) {
    return info.Env().Undefined();
  }
  return Num(info.Env(), sys::Listen(fd, backlog));
}

// close(2). Returns 0 or -errno (-EBADF); EINTR counts as closed and gives 0. A poll or watch
// still active on the fd in this thread is retired first (its callback later gets -EBADF), so
// libuv never watches a reused descriptor. Does not handle: SO_LINGER, shutdown(2).
Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return info.Env().Undefined();
  AddonData* data = Data(info.Env());
  if (!data->polls.empty()) ClosePollsOnFd(info.Env(), data, fd);
  return Num(info.Env(), sys::Close(fd));
}

// The shape getsockname and getpeername share: fd -> a SockAddr, or -errno.
template <int (*Call)(int, sys::SockAddr*)>
Napi::Value NameOf(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return info.Env().Undefined();
  sys::SockAddr addr;
  int r = Call(fd, &addr);
  if (r < 0) return Num(info.Env(), r);
  return WriteSockAddr(info.Env(), addr);
}

// getsockname(2). Returns a SockAddr or -errno. An unbound unix socket gives an empty address.
Napi::Value GetSockName(const Napi::CallbackInfo& info) { return NameOf<sys::GetSockName>(info); }

// getpeername(2). Returns a SockAddr or -errno (-ENOTCONN before a connection is made, which is
// also how a stream socket tells "connect still in progress").
Napi::Value GetPeerName(const Napi::CallbackInfo& info) { return NameOf<sys::GetPeerName>(info); }

// send(2) with MSG_DONTWAIT | MSG_NOSIGNAL. Returns the bytes queued or -errno (-EAGAIN when
// the buffer is full, -EPIPE instead of SIGPIPE, -EDESTADDRREQ on an unassociated datagram
// socket). Does not handle: partial writes (the caller sends the rest).
Napi::Value Send(const Napi::CallbackInfo& info) {
  int fd;
  const uint8_t* bytes;
  size_t len;
  if (!ArgFd(info, 0, &fd) || !ArgBytes(info, 1, &bytes, &len)) return info.Env().Undefined();
  return Num(info.Env(), static_cast<double>(sys::Send(fd, bytes, len)));
}

// sendto(2) with MSG_DONTWAIT | MSG_NOSIGNAL. Returns the bytes queued or -errno (-EISCONN on a
// connected stream socket; a connected datagram socket on Linux sends to the given address).
// The address is converted first: reading it runs JavaScript (getters, proxies), which could
// detach or shrink the data's buffer, so the data pointer is taken only after the last line of
// JavaScript and used at once. A buffer detached by then sends an empty datagram.
Napi::Value SendTo(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return info.Env().Undefined();
  sys::SockAddr addr;
  int r = ReadSockAddr(info.Env(), info[2], &addr);
  if (r == kThrown) return info.Env().Undefined();
  const uint8_t* bytes;
  size_t len;
  if (!ArgBytes(info, 1, &bytes, &len)) return info.Env().Undefined();
  if (r < 0) return Num(info.Env(), r);
  return Num(info.Env(), static_cast<double>(sys::SendTo(fd, bytes, len, addr)));
}

// recvmsg(2) with MSG_DONTWAIT, at most maxBytes, an integer in 0..kRecvMax (RECV_MAX): any
// other number gives -EINVAL without a system call, a non-number a TypeError. Returns
// { data, from, truncated } or -errno (-EAGAIN when nothing is queued). `truncated`: the datagram
// was longer than maxBytes and the rest is lost. `from` is AF_UNSPEC when the kernel gives no
// address (a stream socket, an unnamed unix sender). Memory: up to kScratch bytes go through the
// environment's fixed scratch buffer; a larger maxBytes gets a buffer of its size for this call
// only (malloc, whose untouched pages cost no RSS, freed before returning; -ENOMEM when it
// fails). Nothing is kept beyond the call, and no size aborts. Does not handle: ancillary data
// (SCM_RIGHTS, ...).
Napi::Value RecvFrom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  double requested;
  if (!ArgFd(info, 0, &fd)) return env.Undefined();
  int r = ReadInteger(env, info[1], "maxBytes must be a number", 0, kRecvMax, &requested);
  if (r == kThrown) return env.Undefined();
  if (r < 0) return Num(env, r);
  const size_t maxBytes = static_cast<size_t>(requested);
  AddonData* data = Data(env);
  uint8_t* buffer = data->scratch;
  if (maxBytes > sizeof(data->scratch)) {
    buffer = static_cast<uint8_t*>(malloc(maxBytes));
    if (buffer == nullptr) return Num(env, -ENOMEM);
  }
  sys::SockAddr from;
  bool truncated = false;
  ssize_t n = sys::RecvFrom(fd, buffer, maxBytes, &from, &truncated);
  Napi::Value result;
  if (n < 0) {
    result = Num(env, static_cast<double>(n));
  } else {
    Napi::Object received = Napi::Object::New(env);
    received.Set("data", CopyBytes(env, buffer, static_cast<size_t>(n)));
    received.Set("from", WriteSockAddr(env, from));
    received.Set("truncated", Napi::Boolean::New(env, truncated));
    result = received;
  }
  if (buffer != data->scratch) free(buffer);
  return result;
}

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
#define EC_CONSTANT(name) c.Set(#name, Num(env, name))
  EC_CONSTANT(AF_INET);
  EC_CONSTANT(AF_INET6);
  EC_CONSTANT(AF_UNIX);
  EC_CONSTANT(AF_UNSPEC);
  EC_CONSTANT(SOCK_STREAM);
  EC_CONSTANT(SOCK_DGRAM);
  EC_CONSTANT(SOL_SOCKET);
  EC_CONSTANT(SO_ERROR);
  EC_CONSTANT(SO_REUSEADDR);
#ifdef SO_REUSEPORT
  EC_CONSTANT(SO_REUSEPORT);
#endif
  EC_CONSTANT(SO_KEEPALIVE);
  EC_CONSTANT(SO_BROADCAST);
  EC_CONSTANT(SO_SNDBUF);
  EC_CONSTANT(SO_RCVBUF);
  EC_CONSTANT(IPPROTO_TCP);
  EC_CONSTANT(TCP_NODELAY);
#ifdef TCP_SYNCNT
  EC_CONSTANT(TCP_SYNCNT);
#endif
#ifdef TCP_USER_TIMEOUT
  EC_CONSTANT(TCP_USER_TIMEOUT);
#endif
#ifdef TCP_KEEPIDLE
  EC_CONSTANT(TCP_KEEPIDLE);
#endif
#undef EC_CONSTANT
  c.Set("SUN_PATH_MAX", Num(env, static_cast<double>(sys::kSunPathMax)));
  c.Set("RECV_MAX", Num(env, kRecvMax));
  c.Set("POLL_READABLE", Num(env, kPollReadable));
  c.Set("POLL_WRITABLE", Num(env, kPollWritable));
  c.Set("POLL_ERROR", Num(env, kPollError));
  c.Freeze();
  return c;
}

}  // namespace

bool ArgInt(const Napi::CallbackInfo& info, size_t index, const char* name, int* out) {
  Napi::Value v = info[index];
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d >= -2147483648.0 && d <= 2147483647.0 && d == floor(d)) {
      *out = static_cast<int>(d);
      return true;
    }
  }
  char message[96];
  snprintf(message, sizeof(message), "%s must be an integer in the int32 range", name);
  Napi::TypeError::New(info.Env(), message).ThrowAsJavaScriptException();
  return false;
}

// A file descriptor argument: any int32 (negative numbers go to the kernel, which says EBADF).
// NaN, fractions and non-numbers throw rather than becoming fd 0.
bool ArgFd(const Napi::CallbackInfo& info, size_t index, int* out) {
  return ArgInt(info, index, "fd", out);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  AddonData* data = new AddonData();
  env.SetInstanceData(data);
  exports.Set("constants", Constants(env));
  exports.Set("socket", Napi::Function::New<Socket>(env, "socket"));
  exports.Set("setsockoptInt", Napi::Function::New<SetSockOptInt>(env, "setsockoptInt"));
  exports.Set("getsockoptInt", Napi::Function::New<GetSockOptInt>(env, "getsockoptInt"));
  exports.Set("bind", Napi::Function::New<Bind>(env, "bind"));
  exports.Set("connect", Napi::Function::New<Connect>(env, "connect"));
  exports.Set("listen", Napi::Function::New<Listen>(env, "listen"));
  exports.Set("close", Napi::Function::New<Close>(env, "close"));
  exports.Set("getsockname", Napi::Function::New<GetSockName>(env, "getsockname"));
  exports.Set("getpeername", Napi::Function::New<GetPeerName>(env, "getpeername"));
  exports.Set("send", Napi::Function::New<Send>(env, "send"));
  exports.Set("sendto", Napi::Function::New<SendTo>(env, "sendto"));
  exports.Set("recvfrom", Napi::Function::New<RecvFrom>(env, "recvfrom"));
  exports.Set("pollNow", Napi::Function::New<PollNow>(env, "pollNow"));
  exports.Set("poll", Napi::Function::New<Poll>(env, "poll"));
  exports.Set("watch", Napi::Function::New<Watch>(env, "watch"));
  InitPoll(env, exports, data);
  return exports;
}

}  // namespace ec

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return ec::Init(env, exports);
}

NODE_API_MODULE(effect_connect, InitModule)
