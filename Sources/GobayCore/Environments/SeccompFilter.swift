import CGobay
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The sandbox's system-call filter as a BPF program in a memory file, for `bwrap --seccomp FD`.
/// It denies with EPERM what a build never needs and an escape does: file handles
/// (`open_by_handle_at`), mounts and namespaces, ptrace and process memory, kernel modules, kexec,
/// keyrings, bpf, perf, userfaultfd, io_uring, and TIOCSTI. bwrap reads it once, so each step gets
/// a fresh one.
final class SeccompFilter: Sendable {
    /// The memory file's descriptor (close-on-exec; the spawn hands it to bwrap as fd 3).
    let descriptor: Int32

    init() throws { descriptor = try Self.descriptorForExec() }

    /// A filter descriptor owned by no one: for a spec gobay execs right away (the exec closes it).
    static func descriptorForExec() throws -> Int32 {
        let fd = cgobay_seccomp_filter_fd()
        guard fd >= 0 else {
            throw GobayError.failure(
                "cannot build the sandbox's seccomp filter: \(String(cString: strerror(-fd)))",
                hint: "install libseccomp2 (apt-get install libseccomp2)")
        }
        return fd
    }

    deinit { close(descriptor) }
}
