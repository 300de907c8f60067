import Foundation
import PixEcomProtos

/// The carriers PixEcom knows by name: their 17TRACK carrier codes (from 17TRACK's carrier list)
/// and the public tracking page of a number. Any other carrier name is kept as the seller wrote
/// it; its numbers are registered without a code (17TRACK detects the carrier) and link to
/// 17TRACK's own tracking page.
enum Carriers {
    struct Carrier: Sendable {
        var code: Int
        /// The tracking page, with `{number}` where the number goes.
        var trackingPage: String
    }

    /// Keyed by the lower-cased name with spaces and dashes removed.
    static let known: [String: Carrier] = [
        "ups": Carrier(code: 100002, trackingPage: "https://www.ups.com/track?tracknum={number}"),
        "fedex": Carrier(code: 100003, trackingPage: "https://www.fedex.com/fedextrack/?trknbr={number}"),
        "usps": Carrier(code: 21051, trackingPage: "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"),
        "dhl": Carrier(code: 100001, trackingPage: "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}"),
        "dhlexpress": Carrier(code: 100001, trackingPage: "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}"),
        "tnt": Carrier(code: 100004, trackingPage: "https://www.tnt.com/express/en_gc/site/shipping-tools/tracking.html?cons={number}"),
        "gls": Carrier(code: 100005, trackingPage: "https://gls-group.com/track/{number}"),
        "dpd": Carrier(code: 100007, trackingPage: "https://tracking.dpd.de/status/en_US/parcel/{number}"),
        "chinapost": Carrier(code: 3011, trackingPage: "https://t.17track.net/en#nums={number}"),
        "canadapost": Carrier(
            code: 3041, trackingPage: "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}"),
        "australiapost": Carrier(code: 1151, trackingPage: "https://auspost.com.au/mypost/track/#/details/{number}"),
        "royalmail": Carrier(code: 11031, trackingPage: "https://www.royalmail.com/track-your-item#/tracking-results/{number}"),
        "laposte": Carrier(code: 6051, trackingPage: "https://www.laposte.fr/outils/suivre-vos-envois?code={number}"),
        "postnl": Carrier(code: 14041, trackingPage: "https://postnl.nl/tracktrace/?B={number}"),
        "japanpost": Carrier(code: 10021, trackingPage: "https://trackings.post.japanpost.jp/services/srv/search/?requestNo1={number}"),
    ]

    static func carrier(named name: String) -> Carrier? {
        let key = name.lowercased().filter { $0 != " " && $0 != "-" && $0 != "_" }
        return Self.known[key]
    }

    /// The page where anyone can follow `number`.
    static func trackingURL(carrier: String, number: String) -> String {
        let page = Self.carrier(named: carrier)?.trackingPage ?? "https://t.17track.net/en#nums={number}"
        return page.replacingOccurrences(of: "{number}", with: number)
    }
}

/// A shipment's progress: 17TRACK's main statuses, stored by the proto enum's value names.
enum ShipmentStatus: String, Sendable, CaseIterable {
    case unknown = "SHIPMENT_UNKNOWN"
    case notFound = "SHIPMENT_NOT_FOUND"
    case infoReceived = "INFO_RECEIVED"
    case inTransit = "IN_TRANSIT"
    case expired = "SHIPMENT_EXPIRED"
    case availableForPickup = "AVAILABLE_FOR_PICKUP"
    case outForDelivery = "OUT_FOR_DELIVERY"
    case deliveryFailure = "DELIVERY_FAILURE"
    case delivered = "DELIVERED"
    case exception = "SHIPMENT_EXCEPTION"

    /// From 17TRACK's main status (`latest_status.status`), or a sub-status such as
    /// `InTransit_PickedUp` (the part before the underscore); nil for a name it does not use.
    init?(provider name: String) {
        let main = name.split(separator: "_", maxSplits: 1).first.map(String.init) ?? name
        switch main {
        case "NotFound": self = .notFound
        case "InfoReceived": self = .infoReceived
        case "InTransit": self = .inTransit
        case "Expired": self = .expired
        case "AvailableForPickup": self = .availableForPickup
        case "OutForDelivery": self = .outForDelivery
        case "DeliveryFailure": self = .deliveryFailure
        case "Delivered": self = .delivered
        case "Exception": self = .exception
        default: return nil
        }
    }

    /// Whether tracking has ended: the refresh job no longer asks.
    var isFinal: Bool { self == .delivered || self == .expired }

    var proto: Pixecom_Orders_V1_ShipmentStatus {
        switch self {
        case .unknown: .shipmentUnknown
        case .notFound: .shipmentNotFound
        case .infoReceived: .infoReceived
        case .inTransit: .inTransit
        case .expired: .shipmentExpired
        case .availableForPickup: .availableForPickup
        case .outForDelivery: .outForDelivery
        case .deliveryFailure: .deliveryFailure
        case .delivered: .delivered
        case .exception: .shipmentException
        }
    }
}
