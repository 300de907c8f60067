import Foundation
import RPCKit

/// A creative's `url_tags`: query parameters added to an ad's link, whose values may hold the
/// macros `{{campaign.id}}`, `{{adset.id}}` and `{{ad.id}}` (Meta's names), expanded to PixEcom's
/// ids on each ad's final URL, so an order's UTM parameters name the campaign and ad it came from.
enum URLTags {
    static let macros = ["campaign.id", "adset.id", "ad.id"]
    static let maxLength = 1024

    /// `tags` checked: `key=value` pairs joined by `&`, keys of letters, digits, `_`, `-` and `.`,
    /// values without spaces, `#` or `&`, and no macro but the three. INVALID_ARGUMENT naming
    /// `field` and the first problem.
    static func validate(_ tags: String, field: String = "url_tags") throws -> String {
        guard !tags.isEmpty else { return "" }
        func refuse(_ reason: String) -> RPCError { RPCError.invalidArgument(field: field, reason) }
        guard tags.count <= Self.maxLength else { throw refuse("is \(tags.count) characters; at most \(Self.maxLength)") }
        for pair in tags.split(separator: "&", omittingEmptySubsequences: false) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw refuse("has \"\(pair.prefix(60))\", which is not a key=value pair (pairs are joined by &)")
            }
            let keyCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "_-."))
            guard parts[0].unicodeScalars.allSatisfy({ $0.isASCII && keyCharacters.contains($0) }) else {
                throw refuse("has the key \"\(parts[0].prefix(60))\"; keys are letters, digits, _, - and .")
            }
            var value = Substring(parts[1])
            while let open = value.range(of: "{{") {
                guard let close = value[open.upperBound...].range(of: "}}") else {
                    throw refuse("has a macro without its closing }} in \"\(pair.prefix(60))\"")
                }
                let name = String(value[open.upperBound..<close.lowerBound])
                guard Self.macros.contains(name) else {
                    throw refuse("has the unknown macro {{\(name.prefix(40))}}; the macros are {{campaign.id}}, {{adset.id}} and {{ad.id}}")
                }
                value = value[close.upperBound...]
            }
            if value.contains("}}") { throw refuse("has a }} without its opening {{ in \"\(pair.prefix(60))\"") }
            guard
                !parts[1].unicodeScalars.contains(where: {
                    $0.properties.isWhitespace || $0 == "#" || $0.properties.generalCategory == .control
                })
            else {
                throw refuse("has a value with a space, a control character or #: encode them (%20, %23)")
            }
        }
        return tags
    }

    /// `link` with `tags` appended to its query (before a fragment), the macros replaced by the ids.
    static func finalURL(link: String, tags: String, campaignID: UUID, adSetID: UUID, adID: UUID) -> String {
        guard !tags.isEmpty else { return link }
        let expanded =
            tags
            .replacingOccurrences(of: "{{campaign.id}}", with: campaignID.wireText)
            .replacingOccurrences(of: "{{adset.id}}", with: adSetID.wireText)
            .replacingOccurrences(of: "{{ad.id}}", with: adID.wireText)
        return Self.joined(link: link, query: expanded)
    }

    /// `link` with `query` appended to its query string, before a fragment.
    static func joined(link: String, query: String) -> String {
        guard !query.isEmpty else { return link }
        var base = Substring(link)
        var fragment = ""
        if let hash = base.firstIndex(of: "#") {
            fragment = String(base[hash...])
            base = base[..<hash]
        }
        let separator = base.contains("?") ? (base.hasSuffix("?") || base.hasSuffix("&") ? "" : "&") : "?"
        return base + separator + query + fragment
    }
}
