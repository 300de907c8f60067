import Foundation
import RPCKit

/// The rules every chunked upload follows (assets, order imports): a chunk is sent at its byte
/// offset, in order; the same bytes sent again at an offset already received are a retry and
/// change nothing; anything else names `offset` or `data` and says where the next chunk starts.
/// The stores keep their own tables; this holds the rules once.
public enum ChunkedUpload {
    /// What a chunk does to its upload.
    public enum Step: Sendable, Equatable {
        /// The same bytes as the chunk already stored at that offset: answer as before.
        case retry
        /// The next chunk: store it and count its bytes.
        case append
    }

    /// The step for `data` at `offset` of an upload that has `received` of its declared `size`
    /// bytes; `stored` reads the chunk already stored at `offset` (nil when none starts there),
    /// and is called only for an offset below `received`. `upload` names the upload in errors
    /// ("the import's", "the upload's").
    public static func step(
        _ data: Data, at offset: Int64, received: Int64, size: Int64, upload: String, stored: () async throws -> Data?
    ) async throws -> Step {
        if offset < received {
            guard try await stored() == data else {
                throw RPCError.invalidArgument(
                    field: "offset",
                    "bytes up to \(received) are already received and these differ from the chunk stored at \(offset); the next chunk starts at \(received)"
                )
            }
            return .retry
        }
        guard offset == received else {
            throw RPCError.invalidArgument(
                field: "offset", "is \(offset) but \(received) bytes are received: the next chunk starts at \(received)")
        }
        guard offset + Int64(data.count) <= size else {
            throw RPCError.invalidArgument(
                field: "data", "would end at byte \(offset + Int64(data.count)), past \(upload) declared size of \(size)")
        }
        return .append
    }
}
