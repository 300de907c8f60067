import Foundation
import PixEcomProtos
import ServiceKit

/// Where a checkout's buyer came from, normalised.
///
/// The rule (last click): the storefront sends the attribution of the buyer's latest ad click,
/// the last landing whose URL carried utm or fbclid parameters (a later visit without them does
/// not replace it), and PixEcom records it on the order as sent. Here:
/// - the landing URL's `utm_source, utm_medium, utm_campaign, utm_content, utm_term` and `fbclid`
///   are read; a value given in its own field wins over the URL's;
/// - every value is trimmed; `utm_source` and `utm_medium` are lower-cased (analytics tools treat
///   "Facebook" and "facebook" as two sources); ids keep their case;
/// - a value that is still an unexpanded url_tags macro (`{{ad.id}}`: an ad preview, not a
///   click) is dropped;
/// - `utm_content` carries the ad id and `utm_campaign` the campaign id when the ad's url_tags use
///   Meta's macros (`utm_campaign={{campaign.id}}&utm_content={{ad.id}}`): that is how StatsService
///   attributes the order's money to the ad;
/// - `fbc` is kept as sent, or made from `fbclid` as Meta specifies: `fb.1.<ms>.<fbclid>`, the
///   time being the checkout's; `fbp` is kept as sent.
struct CheckoutAttribution: Sendable, Hashable {
    var utm = UtmTags()
    var fbclid = ""
    var fbc = ""
    var fbp = ""
    var landingURL = ""
    var referrer = ""

    static let maxURLLength = 2048
    static let maxValueLength = 200

    static func parse(_ given: Pixecom_Orders_V1_Attribution, now: Date, _ violations: inout FieldViolations) -> CheckoutAttribution? {
        var result = CheckoutAttribution()
        var valid = true
        var fromURL: [String: String] = [:]
        if !given.landingURL.isEmpty {
            if given.landingURL.utf8.count > Self.maxURLLength {
                violations.add(field: "attribution.landing_url", "must be at most \(Self.maxURLLength) bytes")
                valid = false
            } else if let url = URLComponents(string: given.landingURL), let scheme = url.scheme?.lowercased(),
                scheme == "https" || scheme == "http", url.host?.isEmpty == false
            {
                for item in url.queryItems ?? [] {
                    if fromURL[item.name] == nil, let value = item.value { fromURL[item.name] = value }
                }
                result.landingURL = given.landingURL
            } else {
                violations.add(field: "attribution.landing_url", "must be an http or https URL")
                valid = false
            }
        }
        func value(_ explicit: String, _ parameter: String, field: String, lowercase: Bool = false) -> String {
            var text = (explicit.isEmpty ? fromURL[parameter] ?? "" : explicit).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.hasPrefix("{{") && text.hasSuffix("}}") { text = "" }
            if text.unicodeScalars.count > Self.maxValueLength || text.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                violations.add(
                    field: "attribution.\(field)", "must be at most \(Self.maxValueLength) characters, without control characters")
                valid = false
                return ""
            }
            return lowercase ? text.lowercased() : text
        }
        result.utm.source = value(given.utmSource, "utm_source", field: "utm_source", lowercase: true)
        result.utm.medium = value(given.utmMedium, "utm_medium", field: "utm_medium", lowercase: true)
        result.utm.campaign = value(given.utmCampaign, "utm_campaign", field: "utm_campaign")
        result.utm.content = value(given.utmContent, "utm_content", field: "utm_content")
        result.utm.term = value(given.utmTerm, "utm_term", field: "utm_term")
        result.fbclid = value(given.fbclid, "fbclid", field: "fbclid")
        result.fbc = value(given.fbc, "", field: "fbc")
        result.fbp = value(given.fbp, "", field: "fbp")
        if !result.fbc.isEmpty && !Self.isMetaCookie(result.fbc) {
            violations.add(field: "attribution.fbc", "must be fb.<subdomain index>.<ms>.<fbclid>")
            valid = false
        }
        if !result.fbp.isEmpty && !Self.isMetaCookie(result.fbp) {
            violations.add(field: "attribution.fbp", "must be fb.<subdomain index>.<ms>.<random>")
            valid = false
        }
        if result.fbc.isEmpty && !result.fbclid.isEmpty {
            result.fbc = "fb.1.\(Int64((now.timeIntervalSince1970 * 1000).rounded(.down))).\(result.fbclid)"
        }
        if given.referrer.utf8.count > Self.maxURLLength {
            violations.add(field: "attribution.referrer", "must be at most \(Self.maxURLLength) bytes")
            valid = false
        } else if given.referrer.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            violations.add(field: "attribution.referrer", "must not contain control characters")
            valid = false
        } else {
            result.referrer = given.referrer
        }
        return valid ? result : nil
    }

    /// `fb.<digit>.<digits>.<rest>`: the shape of Meta's `_fbc` and `_fbp` cookies.
    static func isMetaCookie(_ value: String) -> Bool {
        let parts = value.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "fb" && parts[1].count == 1 && parts[1].allSatisfy(\.isASCII)
            && parts[1].allSatisfy(\.isNumber) && !parts[2].isEmpty && parts[2].allSatisfy { $0.isASCII && $0.isNumber }
            && !parts[3].isEmpty
    }
}
