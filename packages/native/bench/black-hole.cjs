// A black hole for storms (the storm test and `npm run bench`): a TCP listener on 127.0.0.1 with
// backlog 0 that never accepts, whose accept queue three connects of its own have filled, so
// the kernel drops every further SYN and connects to it stay in progress until stopped. Run it
// as its own process so that the storm's fds and event loop are the caller's alone. Prints the
// port when ready; lives until killed.
const b = require("../build/Release/effect_connect.node")
const c = b.constants
const fd = b.socket(c.AF_INET, c.SOCK_STREAM)
if (b.bind(fd, { family: c.AF_INET, address: "127.0.0.1", port: 0 }) < 0 || b.listen(fd, 0) < 0) process.exit(1)
const port = b.getsockname(fd).port
for (let i = 0; i < 3; i++) b.connect(b.socket(c.AF_INET, c.SOCK_STREAM), { family: c.AF_INET, address: "127.0.0.1", port })
// The three handshakes finish on the loopback at once; give them a moment all the same.
setTimeout(() => console.log(port), 50)
setInterval(() => {}, 1 << 30)
