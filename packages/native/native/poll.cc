// One-shot readiness notification for a file descriptor on the main (or the worker's) libuv
// loop: a uv_poll_t that fires once, closes itself, then calls back into JavaScript.
//
// Life cycle of a PollReq:
//   Poll()    uv_poll_init + uv_poll_start; the JS callback is held by a napi_ref and the
//             request is listed in AddonData::polls under its fd.
//   OnPoll()  ready: stop, unlist, uv_close, then call the callback once (within an async
//             context, so promise continuations and nextTicks run after it).
//   cancel()  stop, unlist, uv_close, release the callback without calling it.
//   close(fd) (ClosePollsOnFd) stop, unlist, uv_close, list as deferred: the callback gets
//             -EBADF from OnClose, unless cancel() comes first.
//   teardown  (environment cleanup hook) stop, unlist, uv_close, release everything, no call.
//   OnClose() frees the request (and makes the deferred -EBADF call, if any).
// The JS PollHandle object and the request point at each other; whichever goes first clears
// the other's pointer, so neither ever dangles.
#include <errno.h>
#include <uv.h>

#include "addon.h"

namespace ec {

class PollHandle;

struct PollReq {
  uv_poll_t handle;
  napi_env env;
  int fd;
  int events;                       // requested, our bits
  napi_ref callback = nullptr;      // released when the callback is taken or dropped
  napi_async_context context = nullptr;
  PollHandle* wrap = nullptr;       // the JS handle object, while it lives
  int deferredStatus = 0;           // nonzero: call the callback with it from OnClose
};

// JavaScript: the object poll() returns. `cancel()` is its only method.
class PollHandle : public Napi::ObjectWrap<PollHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PollHandle",
                       {InstanceMethod<&PollHandle::Cancel>(
                           "cancel", static_cast<napi_property_attributes>(napi_default_method))});
  }

  explicit PollHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PollHandle>(info) {
    // Constructed by Poll() (which sets `constructing`), or from JS through the prototype's
    // `constructor`: then it belongs to no poll and cancel() does nothing.
    AddonData* data = Data(info.Env());
    req_ = data->constructing;
    data->constructing = nullptr;
    if (req_ != nullptr) req_->wrap = this;
  }

  ~PollHandle() override {
    if (req_ != nullptr) req_->wrap = nullptr;
  }

  void Detach() { req_ = nullptr; }

 private:
  // Stops and closes the poll without calling its callback. A no-op after the poll fired, was
  // cancelled, or had its fd closed.
  Napi::Value Cancel(const Napi::CallbackInfo& info);

  PollReq* req_ = nullptr;
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

// Calls the callback (once), then releases it. The caller holds a handle scope.
void Fire(PollReq* req, int status, int events) {
  napi_env env = req->env;
  napi_value fn = nullptr;
  if (req->callback != nullptr) napi_get_reference_value(env, req->callback, &fn);
  if (fn != nullptr) {
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
  ReleaseJs(req);
}

void DetachWrap(PollReq* req) {
  if (req->wrap != nullptr) {
    req->wrap->Detach();
    req->wrap = nullptr;
  }
}

void OnClose(uv_handle_t* handle) {
  PollReq* req = static_cast<PollReq*>(handle->data);
  DetachWrap(req);
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

void OnPoll(uv_poll_t* handle, int status, int uvEvents) {
  PollReq* req = static_cast<PollReq*>(handle->data);
  AddonData* data = Data(req->env);
  int events = 0;
  if (uvEvents & UV_READABLE) events |= kPollReadable;
  if (uvEvents & UV_WRITABLE) events |= kPollWritable;
  if (status == UV_EBADF) {
    // libuv reports POLLERR as UV_EBADF (a closed descriptor cannot reach here: epoll forgets
    // it, and close() retires the poll first). POLLERR means a pending socket error, e.g. a
    // refused connect: neither a read nor a write would block, so report the requested
    // readiness plus kPollError, and let the caller read SO_ERROR.
    status = 0;
    events = req->events | kPollError;
  }
  Retire(data, req);
  DetachWrap(req);
  Napi::HandleScope scope(req->env);
  Fire(req, status, events);
}

// Environment teardown: no JavaScript may run; close every handle so that the loop can close.
void Teardown(void* arg) {
  AddonData* data = static_cast<AddonData*>(arg);
  for (PollReq* req : data->deferred) {
    req->deferredStatus = 0;
    DetachWrap(req);
    ReleaseJs(req);
  }
  data->deferred.clear();
  while (!data->polls.empty()) {
    PollReq* req = data->polls.begin()->second;
    DetachWrap(req);
    ReleaseJs(req);
    Retire(data, req);
  }
}

}  // namespace

Napi::Value PollHandle::Cancel(const Napi::CallbackInfo& info) {
  PollReq* req = req_;
  if (req == nullptr) return info.Env().Undefined();
  AddonData* data = Data(info.Env());
  if (req->deferredStatus != 0) {
    // Already retired by close(fd), its -EBADF call still to come: drop it.
    req->deferredStatus = 0;
    data->deferred.erase(req);
  } else {
    Retire(data, req);
  }
  DetachWrap(req);
  ReleaseJs(req);
  return info.Env().Undefined();
}

void ClosePollsOnFd(napi_env env, AddonData* data, int fd) {
  (void)env;
  auto it = data->polls.find(fd);
  if (it == data->polls.end()) return;
  PollReq* req = it->second;
  req->deferredStatus = UV_EBADF;
  data->deferred.insert(req);
  Retire(data, req);
}

// uv_poll_init + uv_poll_start (epoll on Linux, kqueue on macOS/BSD) for readable and/or
// writable, one shot. Returns a PollHandle, or a negative errno (libuv's error codes are
// -errno on these platforms): -EINVAL for events outside POLL_READABLE | POLL_WRITABLE,
// -EEXIST when this environment already polls the fd (libuv cannot watch one fd twice),
// -EBADF / -EPERM from uv_poll_init for a closed descriptor or one epoll cannot watch (a
// regular file). Does not handle: the same fd polled from two worker threads (each has its own
// loop: fine for the kernel, but close() only retires the calling thread's poll).
Napi::Value Poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, events;
  if (!ArgFd(info, 0, &fd) || !ArgInt(info, 1, "events", &events)) return env.Undefined();
  if (!info[2].IsFunction()) {
    Napi::TypeError::New(env, "callback must be a function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (events == 0 || (events & ~(kPollReadable | kPollWritable)) != 0) {
    return Napi::Number::New(env, -EINVAL);
  }
  AddonData* data = Data(env);
  if (data->polls.find(fd) != data->polls.end()) return Napi::Number::New(env, -EEXIST);

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    return Napi::Number::New(env, -EINVAL);
  }
  PollReq* req = new PollReq();
  req->env = env;
  req->fd = fd;
  req->events = events;
  int err = uv_poll_init(loop, &req->handle, fd);
  if (err != 0) {
    delete req;  // not initialised: nothing to close
    return Napi::Number::New(env, err);
  }
  req->handle.data = req;
  int uvEvents = ((events & kPollReadable) ? UV_READABLE : 0) |
                 ((events & kPollWritable) ? UV_WRITABLE : 0);
  err = uv_poll_start(&req->handle, uvEvents, OnPoll);
  if (err != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&req->handle), OnClose);
    return Napi::Number::New(env, err);
  }
  data->polls.emplace(fd, req);

  napi_create_reference(env, info[2], 1, &req->callback);
  // (NAPI_VERSION 8 cannot hold a string in a reference, so the name is made each time.)
  napi_value resourceName;
  napi_create_string_latin1(env, "effect_connect.poll", NAPI_AUTO_LENGTH, &resourceName);
  napi_async_init(env, nullptr, resourceName, &req->context);

  data->constructing = req;
  Napi::Object handle = data->pollHandleClass.New({});
  data->constructing = nullptr;
  return handle;
}

void InitPoll(Napi::Env env, Napi::Object exports, AddonData* data) {
  (void)exports;
  data->pollHandleClass = Napi::Persistent(PollHandle::Define(env));
  napi_add_env_cleanup_hook(env, Teardown, data);
}

}  // namespace ec
