import CSystemShims
import Glibc

/// Every signal blocked and delivered through a signalfd, so that the event
/// loop sleeps in `poll` and no signal is lost between checks.
final class SignalChannel {
    let fd: Int32

    /// Blocks all signals in the calling thread and opens the signalfd.
    /// Must run before any other thread exists so they inherit the mask.
    init() throws(Failure) {
        var all = sigset_t()
        sigfillset(&all)
        guard pthread_sigmask(SIG_BLOCK, &all, nil) == 0 else {
            throw Failure(ExitCode.internalError, "cannot block signals: \(lastErrnoText())")
        }
        let fd = msi_signalfd(&all)
        guard fd >= 0 else {
            throw Failure(ExitCode.internalError, "cannot open a signalfd: \(lastErrnoText())")
        }
        self.fd = fd
    }

    /// Signals pending now, in arrival order (standard signals coalesce in the kernel).
    func drain() -> [(signo: Int32, sender: pid_t)] {
        var received: [(signo: Int32, sender: pid_t)] = []
        var signo: Int32 = 0
        var sender: pid_t = 0
        while msi_signalfd_read(fd, &signo, &sender) == 1 {
            received.append((signo, sender))
        }
        return received
    }

    deinit { close(fd) }
}
