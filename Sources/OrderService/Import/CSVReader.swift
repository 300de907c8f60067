/// Reads CSV a chunk at a time (RFC 4180: fields separated by commas, rows by CRLF or LF; a
/// field in double quotes may hold commas, line breaks and doubled quotes), so a large file is
/// never whole in memory. A row is kept until its last byte arrives, however the chunks cut it.
///
/// A row that breaks the grammar (a quote inside an unquoted field, text after a closing quote,
/// bytes that are not UTF-8, a quoted field still open at the end of the file) comes out with its
/// `problem` set: a bad row, reported by its line, never a reason to stop reading. Blank lines are
/// skipped. A UTF-8 byte order mark at the start is dropped.
struct CSVReader: Sendable {
    struct Row: Sendable, Equatable {
        var fields: [String]
        /// The line the row starts on (1 is the file's first); a quoted line break makes a row
        /// span lines.
        var line: Int
        /// The byte offsets of the row's first byte and of the byte after its line break.
        var start: Int64
        var end: Int64
        /// What was wrong with it, if anything; `column` is its index when one field was at fault.
        var problem: (column: Int?, message: String)?

        static func == (lhs: Row, rhs: Row) -> Bool {
            lhs.fields == rhs.fields && lhs.line == rhs.line && lhs.start == rhs.start && lhs.end == rhs.end
                && lhs.problem?.column == rhs.problem?.column && lhs.problem?.message == rhs.problem?.message
        }
    }

    enum Failure: Error, Equatable, CustomStringConvertible {
        case rowTooLong(line: Int, limit: Int)

        var description: String {
            switch self {
            case .rowTooLong(let line, let limit):
                "the row starting on line \(line) is longer than \(limit) bytes (a quote left open?); the file is not read further"
            }
        }
    }

    private enum State: Sendable {
        case fieldStart, unquoted, quoted, quoteInQuoted, afterQuoted
    }

    /// The longest row read; a longer one stops the file (`Failure.rowTooLong`).
    let maxRowBytes: Int
    private var state = State.fieldStart
    private var field: [UInt8] = []
    private var fields: [[UInt8]] = []
    private var problem: (column: Int?, message: String)?
    private var offset: Int64 = 0
    private var line = 1
    private var rowStart: Int64 = 0
    private var rowLine = 1
    private var rowBytes = 0
    private var checkedBOM = false

    init(maxRowBytes: Int = 1 << 20) {
        self.maxRowBytes = maxRowBytes
    }

    /// Reads `bytes`, the file's next ones, appending the rows they complete to `rows`.
    mutating func feed(_ bytes: some Sequence<UInt8>, into rows: inout [Row]) throws {
        for byte in bytes {
            self.offset += 1
            if !self.checkedBOM {
                // The mark's three bytes, each skipped while they match; a partial match was data.
                let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
                let index = Int(self.offset - 1)
                if index < 3 && byte == bom[index] {
                    if index == 2 {
                        self.checkedBOM = true
                        self.rowStart = 3
                    }
                    continue
                }
                self.checkedBOM = true
                if index > 0 {
                    // Bytes taken as the mark's were not: give them back as data.
                    for skipped in bom.prefix(index) { try self.consume(skipped, into: &rows) }
                }
            }
            try self.consume(byte, into: &rows)
        }
    }

    /// Ends the file: a last row without a line break comes out.
    mutating func finish(into rows: inout [Row]) throws {
        if !self.checkedBOM && self.offset > 0 {
            // A file of one or two bytes that began like the mark: they were data.
            self.checkedBOM = true
            for byte in [UInt8]([0xEF, 0xBB, 0xBF]).prefix(Int(self.offset)) { try self.consume(byte, into: &rows) }
        }
        guard self.rowBytes > 0 else { return }
        switch self.state {
        case .quoted:
            self.problem = self.problem ?? (self.fields.count, "is a quoted field not closed before the end of the file")
        case .fieldStart, .unquoted:
            if self.field.last == UInt8(ascii: "\r") { self.field.removeLast() }
        case .quoteInQuoted, .afterQuoted:
            break
        }
        self.endField()
        self.endRow(into: &rows)
    }

    private mutating func consume(_ byte: UInt8, into rows: inout [Row]) throws {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"), ret = UInt8(ascii: "\r")
        self.rowBytes += 1
        if self.rowBytes > self.maxRowBytes { throw Failure.rowTooLong(line: self.rowLine, limit: self.maxRowBytes) }
        switch self.state {
        case .fieldStart, .unquoted:
            switch byte {
            case comma:
                self.endField()
            case newline:
                // A CR before the LF belongs to the line break, not the field.
                if self.field.last == ret { self.field.removeLast() }
                self.endField()
                self.line += 1
                self.endRow(into: &rows)
            case quote where self.state == .fieldStart:
                self.state = .quoted
            case quote:
                self.problem = self.problem ?? (self.fields.count, "has a quote inside a field that does not start with one")
                self.field.append(byte)
            default:
                self.state = .unquoted
                self.field.append(byte)
            }
        case .quoted:
            if byte == quote {
                self.state = .quoteInQuoted
            } else {
                if byte == newline { self.line += 1 }
                self.field.append(byte)
            }
        case .quoteInQuoted:
            switch byte {
            case quote:
                self.field.append(quote)
                self.state = .quoted
            case comma:
                self.endField()
            case newline:
                self.endField()
                self.line += 1
                self.endRow(into: &rows)
            case ret:
                self.state = .afterQuoted
            default:
                self.problem = self.problem ?? (self.fields.count, "has text after its closing quote")
                self.field.append(byte)
                self.state = .unquoted
            }
        case .afterQuoted:
            switch byte {
            case comma:
                self.endField()
            case newline:
                self.endField()
                self.line += 1
                self.endRow(into: &rows)
            case ret:
                break
            default:
                self.problem = self.problem ?? (self.fields.count, "has text after its closing quote")
                self.field.append(byte)
                self.state = .unquoted
            }
        }
    }

    private mutating func endField() {
        self.fields.append(self.field)
        self.field.removeAll(keepingCapacity: true)
        self.state = .fieldStart
    }

    /// Emits the fields ended so far as a row (unless the line was blank) and starts the next.
    private mutating func endRow(into rows: inout [Row]) {
        let blank = self.fields.count == 1 && self.fields[0].isEmpty && self.problem == nil
        if !blank {
            var texts: [String] = []
            texts.reserveCapacity(self.fields.count)
            for (index, bytes) in self.fields.enumerated() {
                if let text = String(validating: bytes, as: UTF8.self) {
                    texts.append(text)
                } else {
                    self.problem = self.problem ?? (index, "is not UTF-8 text")
                    texts.append(String(decoding: bytes, as: UTF8.self))
                }
            }
            rows.append(Row(fields: texts, line: self.rowLine, start: self.rowStart, end: self.offset, problem: self.problem))
        }
        self.fields.removeAll(keepingCapacity: true)
        self.field.removeAll(keepingCapacity: true)
        self.state = .fieldStart
        self.problem = nil
        self.rowStart = self.offset
        self.rowLine = self.line
        self.rowBytes = 0
    }
}
