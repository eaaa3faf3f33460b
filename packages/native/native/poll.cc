// Readiness notification for a file descriptor on the main (or the worker's) libuv loop, two
// ways over one kind of request (a uv_poll_t; one per fd, as libuv cannot watch an fd twice):
//   poll()   one shot: fires once, closes itself, then calls back into JavaScript.
//   watch()  a watch: calls back on every readiness for the events it is set to, until closed;
//            set(events) changes them (0: stop watching, the handle kept for the next set).
//
// Life cycle of a PollReq:
//   Poll() / Watch()  uv_poll_init (+ uv_poll_start for a poll); the JS callback is held by a
//             napi_ref and the request is listed in AddonData::polls under its fd.
//   OnPoll()  a poll is ready: stop, unlist, uv_close, then call the callback once (within an
//             async context, so promise continuations and nextTicks run after it).
//   OnWatch() a watch is ready: call the callback; it stays listed and open (and watching:
//             libuv stops a handle that reported POLLERR, OnWatch starts it again).
//   cancel() / close()  stop, unlist, uv_close, release the callback without calling it.
//   close(fd) (ClosePollsOnFd) stop, unlist, uv_close, list as deferred: the callback gets
//             -EBADF from OnClose, unless cancel() / close() comes first.
//   teardown  (environment cleanup hook) stop, unlist, uv_close, release everything, no call.
//   OnClose() frees the request (and makes the deferred -EBADF call, if any).
// The JS handle object (PollHandle or WatchHandle) and the request point at each other;
// whichever goes first clears the other's pointer, so neither ever dangles.
#include <errno.h>
#include <uv.h>

#include "addon.h"

namespace ec {

struct PollReq {
  uv_poll_t handle;
  napi_env env;
  int fd;
  int events;                       // watched, our bits (a watch: 0 while stopped)
  napi_ref callback = nullptr;      // released when the callback is taken or dropped
  napi_async_context context = nullptr;
  PollReq** owner = nullptr;        // the JS handle object's pointer to this, while it lives
  int deferredStatus = 0;           // nonzero: call the callback with it from OnClose
};

namespace {

void ReleaseJs(PollReq* req) {
  if (req->callback != nullptr) {
    napi_delete_reference(req->env, req->callback);
    req->callback = nullptr;
  }
  if (req->context != nullptr) {
    napi_async_destroy(req->env, req->context);
    req->context = nullptr;
  }
}

// Calls the callback, if it is still held. The caller holds a handle scope.
void Call(PollReq* req, int status, int events) {
  napi_env env = req->env;
  napi_value fn = nullptr;
  if (req->callback != nullptr) napi_get_reference_value(env, req->callback, &fn);
  if (fn == nullptr) return;
  napi_value global, argv[2];
  napi_get_global(env, &global);
  napi_create_int32(env, status, &argv[0]);
  napi_create_int32(env, events, &argv[1]);
  napi_make_callback(env, req->context, global, fn, 2, argv, nullptr);
  // An exception thrown by the callback has nowhere to go on this stack: report it as
  // uncaught, the way node reports a throwing 'connect' listener.
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
}

// Calls the callback (once, the last time), then releases it.
void Fire(PollReq* req, int status, int events) {
  Call(req, status, events);
  ReleaseJs(req);
}

void DetachOwner(PollReq* req) {
  if (req->owner != nullptr) {
    *req->owner = nullptr;
    req->owner = nullptr;
  }
}

void OnClose(uv_handle_t* handle) {
  PollReq* req = static_cast<PollReq*>(handle->data);
  DetachOwner(req);
  // Only a request retired by close(fd) has a deferred status, and cancel() and teardown
  // clear it: when it is set, the environment (and its AddonData) is still alive.
  if (req->deferredStatus != 0) {
    Data(req->env)->deferred.erase(req);
    Napi::HandleScope scope(req->env);
    Fire(req, req->deferredStatus, 0);
  }
  delete req;
}

// Stops watching, unlists the request and starts closing the handle. Reached once per
// request, through the list.
void Retire(AddonData* data, PollReq* req) {
  uv_poll_stop(&req->handle);
  data->polls.erase(req->fd);
  uv_close(reinterpret_cast<uv_handle_t*>(&req->handle), OnClose);
}

// Our readiness bits for libuv's. libuv reports POLLERR as UV_EBADF (a closed descriptor
// cannot reach here: epoll forgets it, and close() retires the request first). POLLERR means a
// pending socket error, e.g. a refused connect: neither a read nor a write would block, so
// the watched readiness is reported plus kPollError, and the caller reads the error (SO_ERROR,
// or the next recv/send returns it).
int Readiness(PollReq* req, int* status, int uvEvents) {
  if (*status == UV_EBADF) {
    *status = 0;
    return req->events | kPollError;
  }
  return ((uvEvents & UV_READABLE) ? kPollReadable : 0) |
         ((uvEvents & UV_WRITABLE) ? kPollWritable : 0);
}

int UvEvents(int events) {
  return ((events & kPollReadable) ? UV_READABLE : 0) |
         ((events & kPollWritable) ? UV_WRITABLE : 0);
}

void OnPoll(uv_poll_t* handle, int status, int uvEvents) {
  PollReq* req = static_cast<PollReq*>(handle->data);
  int events = Readiness(req, &status, uvEvents);
  Retire(Data(req->env), req);
  DetachOwner(req);
  Napi::HandleScope scope(req->env);
  Fire(req, status, events);
}

void OnWatch(uv_poll_t* handle, int status, int uvEvents) {
  PollReq* req = static_cast<PollReq*>(handle->data);
  int events = Readiness(req, &status, uvEvents);
  Napi::HandleScope scope(req->env);
  // The callback may set(), close() or close(fd): the request outlives it either way (a
  // closing handle is freed by OnClose, on a later loop turn).
  Call(req, status, events);
  // libuv stops a handle that reported POLLERR; a watch keeps watching what it is set to.
  uv_handle_t* h = reinterpret_cast<uv_handle_t*>(handle);
  if (!uv_is_closing(h) && !uv_is_active(h) && req->events != 0) {
    int err = uv_poll_start(handle, UvEvents(req->events), OnWatch);
    if (err != 0) {
      req->events = 0;
      Call(req, err, 0);
    }
  }
}

// Environment teardown: no JavaScript may run; close every handle so that the loop can close.
void Teardown(void* arg) {
  AddonData* data = static_cast<AddonData*>(arg);
  for (PollReq* req : data->deferred) {
    req->deferredStatus = 0;
    DetachOwner(req);
    ReleaseJs(req);
  }
  data->deferred.clear();
  while (!data->polls.empty()) {
    PollReq* req = data->polls.begin()->second;
    DetachOwner(req);
    ReleaseJs(req);
    Retire(data, req);
  }
}

// cancel() / close(): stops and closes the request without calling its callback. A no-op
// once the request is gone (a poll that fired, a previous call).
void Drop(napi_env env, PollReq* req) {
  if (req == nullptr) return;
  AddonData* data = Data(env);
  if (req->deferredStatus != 0) {
    // Already retired by close(fd), its -EBADF call still to come: drop it.
    req->deferredStatus = 0;
    data->deferred.erase(req);
  } else {
    Retire(data, req);
  }
  DetachOwner(req);
  ReleaseJs(req);
}

// The JS handle objects' common part: the request they belong to, set while constructed by
// Poll() / Watch() (through `constructing`). Constructed from JS through the prototype's
// `constructor`, one belongs to no request and its methods do nothing.
template <typename T>
class ReqObject : public Napi::ObjectWrap<T> {
 public:
  explicit ReqObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info) {
    AddonData* data = Data(info.Env());
    req_ = data->constructing;
    data->constructing = nullptr;
    if (req_ != nullptr) req_->owner = &req_;
  }

  ~ReqObject() override {
    if (req_ != nullptr) req_->owner = nullptr;
  }

 protected:
  PollReq* req_ = nullptr;
};

Napi::Object Construct(AddonData* data, Napi::FunctionReference& cls, PollReq* req) {
  data->constructing = req;
  Napi::Object handle = cls.New({});
  data->constructing = nullptr;
  return handle;
}

// Holds the callback and its async context (named `resource`) for the request.
void HoldCallback(napi_env env, PollReq* req, napi_value callback, const char* resource) {
  napi_create_reference(env, callback, 1, &req->callback);
  // (NAPI_VERSION 8 cannot hold a string in a reference, so the name is made each time.)
  napi_value resourceName;
  napi_create_string_latin1(env, resource, NAPI_AUTO_LENGTH, &resourceName);
  napi_async_init(env, nullptr, resourceName, &req->context);
}

// What poll() and watch() check before making a request: no other request on the fd (-EEXIST),
// and the calling thread's loop (-EINVAL without one). Returns 0 and the loop, or -errno.
int Prepare(napi_env env, int fd, uv_loop_t** loop) {
  if (Data(env)->polls.find(fd) != Data(env)->polls.end()) return -EEXIST;
  if (napi_get_uv_event_loop(env, loop) != napi_ok || *loop == nullptr) return -EINVAL;
  return 0;
}

bool ArgCallback(const Napi::CallbackInfo& info, size_t index) {
  if (info[index].IsFunction()) return true;
  Napi::TypeError::New(info.Env(), "callback must be a function").ThrowAsJavaScriptException();
  return false;
}

// JavaScript: the object poll() returns. `cancel()` is its only method.
class PollHandle : public ReqObject<PollHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PollHandle",
                       {InstanceMethod<&PollHandle::Cancel>(
                           "cancel", static_cast<napi_property_attributes>(napi_default_method))});
  }

  using ReqObject::ReqObject;

 private:
  // Stops and closes the poll without calling its callback. A no-op after the poll fired, was
  // cancelled, or had its fd closed.
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    Drop(info.Env(), req_);
    return info.Env().Undefined();
  }
};

// JavaScript: the object watch() returns: `set(events)` and `close()`.
class WatchHandle : public ReqObject<WatchHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    auto method = static_cast<napi_property_attributes>(napi_default_method);
    return DefineClass(env, "WatchHandle",
                       {InstanceMethod<&WatchHandle::Set>("set", method),
                        InstanceMethod<&WatchHandle::Close>("close", method)});
  }

  using ReqObject::ReqObject;

 private:
  // Watches for `events` from now on (POLL_READABLE | POLL_WRITABLE; 0 stops watching).
  // Returns 0, -EINVAL for other bits, -EBADF once the watch is closed (by close() or close(fd)),
  // or uv_poll_start's error (-EEXIST: another libuv handle, e.g. a net.Socket's, watches the
  // fd), after which the watch watches nothing.
  Napi::Value Set(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int events;
    if (!ArgInt(info, 0, "events", &events)) return env.Undefined();
    if ((events & ~(kPollReadable | kPollWritable)) != 0) return Napi::Number::New(env, -EINVAL);
    PollReq* req = req_;
    if (req == nullptr || uv_is_closing(reinterpret_cast<uv_handle_t*>(&req->handle))) {
      return Napi::Number::New(env, -EBADF);
    }
    // uv_poll_start stops first, so a change of events leaves no stale readiness behind; with
    // no events it only stops.
    int err = uv_poll_start(&req->handle, UvEvents(events), OnWatch);
    if (err != 0) uv_poll_stop(&req->handle);
    req->events = err == 0 ? events : 0;
    return Napi::Number::New(env, err);
  }

  // Stops and closes the watch; its callback is not called again. A no-op after a previous
  // close(), and after close(fd)'s -EBADF call; between close(fd) and that call, drops it.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Drop(info.Env(), req_);
    return info.Env().Undefined();
  }
};

}  // namespace

void ClosePollsOnFd(napi_env env, AddonData* data, int fd) {
  (void)env;
  auto it = data->polls.find(fd);
  if (it == data->polls.end()) return;
  PollReq* req = it->second;
  req->deferredStatus = UV_EBADF;
  data->deferred.insert(req);
  Retire(data, req);
}

// A PollReq for the fd with its uv_poll_t initialised (not started), or a negative errno from
// Prepare or uv_poll_init (nothing is left to close then). Shared by Poll and Watch.
static int NewReq(Napi::Env env, int fd, int events, PollReq** out) {
  uv_loop_t* loop = nullptr;
  int err = Prepare(env, fd, &loop);
  if (err != 0) return err;
  PollReq* req = new PollReq();
  req->env = env;
  req->fd = fd;
  req->events = events;
  err = uv_poll_init(loop, &req->handle, fd);
  if (err != 0) {
    delete req;  // not initialised: nothing to close
    return err;
  }
  req->handle.data = req;
  *out = req;
  return 0;
}

// uv_poll_init + uv_poll_start (epoll on Linux, kqueue on macOS/BSD) for readable and/or
// writable, one shot. Returns a PollHandle, or a negative errno (libuv's error codes are
// -errno on these platforms): -EINVAL for events outside POLL_READABLE | POLL_WRITABLE,
// -EEXIST when this environment already polls or watches the fd (libuv cannot watch one fd
// twice), -EBADF / -EPERM from uv_poll_init for a closed descriptor or one epoll cannot watch
// (a regular file). Does not handle: the same fd polled from two worker threads (each has its
// own loop: fine for the kernel, but close() only retires the calling thread's poll).
Napi::Value Poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, events;
  if (!ArgFd(info, 0, &fd) || !ArgInt(info, 1, "events", &events) || !ArgCallback(info, 2)) {
    return env.Undefined();
  }
  if (events == 0 || (events & ~(kPollReadable | kPollWritable)) != 0) {
    return Napi::Number::New(env, -EINVAL);
  }
  PollReq* req = nullptr;
  int err = NewReq(env, fd, events, &req);
  if (err != 0) return Napi::Number::New(env, err);
  AddonData* data = Data(env);
  err = uv_poll_start(&req->handle, UvEvents(events), OnPoll);
  if (err != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&req->handle), OnClose);
    return Napi::Number::New(env, err);
  }
  data->polls.emplace(fd, req);
  HoldCallback(env, req, info[2], "effect_connect.poll");
  return Construct(data, data->pollHandleClass, req);
}

// uv_poll_init of a watch on the fd, watching nothing until set(events): callback(status,
// events) is called on every loop turn that finds the fd ready for the events set (level-
// triggered: again and again while it stays ready), until close() or close(fd). Returns a
// WatchHandle, or a negative errno: -EEXIST when this environment already polls or watches the
// fd, -EBADF / -EPERM from uv_poll_init. Does not handle: the same fd watched from two worker
// threads (see Poll).
Napi::Value Watch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd) || !ArgCallback(info, 1)) return env.Undefined();
  PollReq* req = nullptr;
  int err = NewReq(env, fd, 0, &req);
  if (err != 0) return Napi::Number::New(env, err);
  AddonData* data = Data(env);
  data->polls.emplace(fd, req);
  HoldCallback(env, req, info[1], "effect_connect.watch");
  return Construct(data, data->watchHandleClass, req);
}

void InitPoll(Napi::Env env, Napi::Object exports, AddonData* data) {
  (void)exports;
  data->pollHandleClass = Napi::Persistent(PollHandle::Define(env));
  data->watchHandleClass = Napi::Persistent(WatchHandle::Define(env));
  napi_add_env_cleanup_hook(env, Teardown, data);
}

}  // namespace ec
