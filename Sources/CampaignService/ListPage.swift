import Foundation
import ServiceKit

/// A validated List request: page size and the keyset cursor after which the page starts.
struct PageRequest: Sendable {
    /// The (created_at, id) of the last row of the previous page, created_at in whole
    /// microseconds since 1970 (Postgres' own precision).
    struct Cursor: Sendable {
        var micros: Int64
        var id: UUID
    }

    var size: Int
    var after: Cursor?

    /// INVALID_ARGUMENT naming `page_size` or `page_token` when they are bad.
    init(pageSize: Int32, pageToken: String) throws {
        self.size = try RequestValidation.pageSize(pageSize)
        self.after = try PageToken.decode(pageToken).map { token in
            Cursor(micros: Int64((token.createdAt.timeIntervalSince1970 * 1_000_000).rounded()), id: token.id)
        }
    }
}

/// One page of objects and the token of the next page ("" on the last one).
struct ListPage<Object: StoredObject>: Sendable {
    var objects: [Object]
    var nextPageToken: String

    /// From up to `pageSize + 1` fetched rows: the extra row only proves there is a next page.
    init(fetched: [Object], pageSize: Int) {
        if fetched.count > pageSize, pageSize > 0 {
            self.objects = Array(fetched.prefix(pageSize))
            let last = fetched[pageSize - 1]
            self.nextPageToken = PageToken.encode(createdAt: last.createdAt, id: last.id)
        } else {
            self.objects = fetched
            self.nextPageToken = ""
        }
    }
}
