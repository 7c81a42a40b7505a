import Glibc
import MathesarInit

// Synchronous main on purpose: an async main parks the main thread in
// dispatch_main(), which loses signals as PID 1. Signals are blocked and read
// from a signalfd by the event loop on this thread.
PrivilegeDrop.execIfRequested(CommandLine.arguments)
// Not before: a trampoline must leave the app its core limit.
PrivilegeDrop.keepMemoryPrivate()
exit(MathesarInitMain.main(CommandLine.arguments))
