/// Splits a SQL script into statements at top-level semicolons.
///
/// Postgres prepares one statement at a time, so a migration file runs statement by statement
/// (inside one transaction). Semicolons inside string literals, quoted identifiers, comments and
/// dollar-quoted bodies do not split.
public enum SQLScript {
    public static func statements(_ script: String) -> [String] {
        let characters = Array(script.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0

        func flush() {
            let text = String(current).trimmingCharacters(in: " \t\r\n")
            if !text.isEmpty && !Self.isOnlyComments(text) { statements.append(text) }
            current = String.UnicodeScalarView()
        }

        while index < characters.count {
            let character = characters[index]
            let next: Unicode.Scalar? = index + 1 < characters.count ? characters[index + 1] : nil
            switch character {
            case "'", "\"":
                // A quoted literal or identifier; a doubled quote escapes itself.
                current.append(character)
                index += 1
                while index < characters.count {
                    current.append(characters[index])
                    if characters[index] == character {
                        if index + 1 < characters.count && characters[index + 1] == character {
                            current.append(characters[index + 1])
                            index += 2
                            continue
                        }
                        break
                    }
                    index += 1
                }
                index += 1
            case "-" where next == "-":
                while index < characters.count && characters[index] != "\n" {
                    current.append(characters[index])
                    index += 1
                }
            case "/" where next == "*":
                while index < characters.count {
                    current.append(characters[index])
                    if characters[index] == "*" && index + 1 < characters.count && characters[index + 1] == "/" {
                        current.append("/")
                        index += 2
                        break
                    }
                    index += 1
                }
            case "$":
                // A dollar quote: $tag$ ... $tag$.
                var end = index + 1
                while end < characters.count && (characters[end].properties.isAlphabetic || characters[end] == "_") {
                    end += 1
                }
                if end < characters.count && characters[end] == "$" {
                    let tag = Array(characters[index...end])
                    current.append(contentsOf: tag)
                    index = end + 1
                    while index < characters.count {
                        if characters[index] == "$" && index + tag.count <= characters.count
                            && Array(characters[index..<(index + tag.count)]) == tag
                        {
                            current.append(contentsOf: tag)
                            index += tag.count
                            break
                        }
                        current.append(characters[index])
                        index += 1
                    }
                } else {
                    current.append(character)
                    index += 1
                }
            case ";":
                flush()
                index += 1
            default:
                current.append(character)
                index += 1
            }
        }
        flush()
        return statements
    }

    private static func isOnlyComments(_ text: String) -> Bool {
        text.split(separator: "\n").allSatisfy { line in
            let trimmed = line.trimmingCharacters(in: " \t\r")
            return trimmed.isEmpty || trimmed.hasPrefix("--")
        }
    }
}

extension StringProtocol {
    /// Trims the characters of `set`. Matching is by Character, and "\r\n" is one Character, so
    /// it counts as in the set when either half is.
    fileprivate func trimmingCharacters(in set: String) -> String {
        let scalars = Set(set.unicodeScalars)
        func inSet(_ character: Character) -> Bool { character.unicodeScalars.allSatisfy { scalars.contains($0) } }
        var view = Substring(self)
        while let first = view.first, inSet(first) { view = view.dropFirst() }
        while let last = view.last, inSet(last) { view = view.dropLast() }
        return String(view)
    }
}
