import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// Reads newline-terminated lines from a pipe, blocking until a whole line has arrived.
final class LineReader: Sendable {
    private let handle: FileHandle
    private let buffered = NIOLockedValueBox(Data())

    init(_ handle: FileHandle) {
        self.handle = handle
    }

    /// The next line without its newline. Throws `ServerProcessError.closed` at end of file.
    func nextLine() throws -> String {
        try self.buffered.withLockedValue { buffered in
            while true {
                if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffered[buffered.startIndex..<newline], as: UTF8.self)
                    buffered.removeSubrange(buffered.startIndex...newline)
                    return line
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = chunk.withUnsafeMutableBytes { read(self.handle.fileDescriptor, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { throw ServerProcessError.closed }
                buffered.append(contentsOf: chunk[..<count])
            }
        }
    }
}
