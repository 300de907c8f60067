/// A table of text cells, printed either column-aligned for a terminal or as Markdown.
public struct TextTable: Sendable {
    public let headers: [String]
    public private(set) var rows: [[String]] = []
    /// Columns aligned left; every other column is aligned right.
    public let leftAlignedColumns: Set<Int>

    public init(headers: [String], leftAlignedColumns: Set<Int> = [0]) {
        self.headers = headers
        self.leftAlignedColumns = leftAlignedColumns
    }

    public mutating func append(_ row: [String]) {
        precondition(row.count == self.headers.count, "a row needs one cell per column")
        self.rows.append(row)
    }

    /// Column-aligned text with a rule under the header.
    public func plainText() -> String {
        let widths = self.headers.indices.map { column in
            ([self.headers[column]] + self.rows.map { $0[column] }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return self.leftAlignedColumns.contains(column) ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(self.headers), rule] + self.rows.map(line)).joined(separator: "\n")
    }

    /// A GitHub-flavoured Markdown table.
    public func markdown() -> String {
        let alignment = self.headers.indices.map { self.leftAlignedColumns.contains($0) ? ":---" : "---:" }
        let lines = [self.headers, alignment] + self.rows
        return lines.map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n")
    }
}
