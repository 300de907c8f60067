import Foundation
import SyscallCounter

/// This process's write syscalls: the kernel's count, and the socket writes made by SwiftNIO.
enum WriteSyscallCounter {
    /// `syscw` of /proc/self/io: every write-family syscall of the process (write, writev, ...),
    /// eventfd wake-ups of the event loops included.
    static func kernelWriteSyscalls() -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("syscw:") {
            return UInt64(line.dropFirst("syscw:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }

    /// write(2)/writev(2) calls on sockets so far.
    static func socketWrites() -> UInt64 {
        syscall_counter_socket_writes()
    }
}
