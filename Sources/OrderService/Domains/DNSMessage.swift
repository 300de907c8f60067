/// The few DNS messages PixEcom needs (RFC 1035): a TXT query, and the TXT strings of an answer.
/// Pure byte work, tested without sockets; `DNSResolver` sends them.
enum DNSMessage {
    static let typeTXT: UInt16 = 16
    static let classIN: UInt16 = 1

    struct Malformed: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// A recursive TXT query for `name` with message id `id`. `name` must be a valid host name
    /// (`DomainValidation.hostName`): labels of 1 to 63 bytes, 253 in all.
    static func txtQuery(id: UInt16, name: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(18 + name.utf8.count)
        Self.append(id, to: &bytes)
        Self.append(0x0100, to: &bytes)  // a standard query, recursion desired
        Self.append(1, to: &bytes)  // one question
        bytes += [0, 0, 0, 0, 0, 0]  // no answer, authority or additional records
        for label in name.split(separator: ".") {
            bytes.append(UInt8(label.utf8.count))
            bytes += label.utf8
        }
        bytes.append(0)
        Self.append(Self.typeTXT, to: &bytes)
        Self.append(Self.classIN, to: &bytes)
        return bytes
    }

    /// What an answer to query `id` says.
    enum Answer: Equatable {
        /// The TXT records (each record's strings joined, as RFC 7208 reads them).
        case records([String])
        /// NXDOMAIN: the name does not exist.
        case noSuchName
        /// Another response code (SERVFAIL, REFUSED, ...).
        case failure(code: UInt8)
        /// The answer did not fit in UDP (TC): not read.
        case truncated
    }

    /// Parses the response to query `id`; an answer to another query is an error.
    static func parseTXTResponse(_ bytes: [UInt8], id: UInt16) throws(Malformed) -> Answer {
        var reader = Reader(bytes: bytes)
        guard let responseID = reader.u16(), let flags = reader.u16(), let questions = reader.u16(), let answers = reader.u16(),
            reader.u16() != nil, reader.u16() != nil
        else { throw Malformed(description: "shorter than a DNS header") }
        guard responseID == id else { throw Malformed(description: "answers another query") }
        guard flags & 0x8000 != 0 else { throw Malformed(description: "is a query, not a response") }
        if flags & 0x0200 != 0 { return .truncated }
        let code = UInt8(flags & 0x000F)
        if code == 3 { return .noSuchName }
        if code != 0 { return .failure(code: code) }
        for _ in 0..<questions {
            guard reader.skipName(), reader.skip(4) else { throw Malformed(description: "question section is cut short") }
        }
        var records: [String] = []
        for _ in 0..<answers {
            guard reader.skipName(), let type = reader.u16(), let klass = reader.u16(), reader.skip(4), let length = reader.u16(),
                let slice = reader.take(Int(length))
            else { throw Malformed(description: "answer section is cut short") }
            guard type == Self.typeTXT, klass == Self.classIN else { continue }  // a CNAME on the way, say
            let data = Array(slice)
            var text: [UInt8] = []
            var offset = 0
            while offset < data.count {
                let count = Int(data[offset])
                guard offset + 1 + count <= data.count else { throw Malformed(description: "TXT string runs past its record") }
                text += data[(offset + 1)..<(offset + 1 + count)]
                offset += 1 + count
            }
            records.append(String(decoding: text, as: UTF8.self))
        }
        return .records(records)
    }

    private static func append(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func u16() -> UInt16? {
            guard offset + 2 <= bytes.count else { return nil }
            defer { offset += 2 }
            return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        }

        mutating func skip(_ count: Int) -> Bool {
            guard offset + count <= bytes.count else { return false }
            offset += count
            return true
        }

        mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
            guard offset + count <= bytes.count else { return nil }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }

        /// Skips a name: labels up to a zero byte, or a compression pointer (two bytes, ending it).
        mutating func skipName() -> Bool {
            for _ in 0..<128 {
                guard offset < bytes.count else { return false }
                let length = bytes[offset]
                if length & 0xC0 == 0xC0 { return self.skip(2) }
                guard length & 0xC0 == 0 else { return false }
                offset += 1
                if length == 0 { return true }
                guard self.skip(Int(length)) else { return false }
            }
            return false
        }
    }
}
