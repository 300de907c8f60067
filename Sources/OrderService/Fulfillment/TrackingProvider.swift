import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import ServiceLifecycle

/// A client of 17TRACK's tracking API, version 2.2 (https://api.17track.net/track/v2.2/): every
/// call is a POST of JSON with the account's key in the `17token` header and at most 40 numbers.
///
/// - `register` starts tracking numbers (each costs one unit of the account's quota; a number
///   registered before is rejected with -18019901 and costs nothing);
/// - `trackInfo` reads what the carriers reported for registered numbers (free);
/// - `quota` reads the account's quota.
///
/// Per-number problems come back in `rejected` with the answer's `code` 0; a problem of the whole
/// call (a bad key, too many numbers) comes back as the answer's own `code` with `data.errors`,
/// or as HTTP 401 (key), 429 (more than the provider's rate, 3 requests a second) or 5xx.
struct TrackingProvider: Sendable {
    static let maxNumbersPerCall = 40

    let http: HTTPClient
    /// The API's base, e.g. https://api.17track.net/track/v2.2 (no trailing slash).
    let baseURL: String
    let token: String
    let timeout: TimeAmount

    init(http: HTTPClient, baseURL: String, token: String, timeout: TimeAmount = .seconds(20)) {
        self.http = http
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.timeout = timeout
    }

    /// A number and, when known, its carrier's 17TRACK code (`Carriers`).
    struct Item: Sendable, Hashable, Encodable {
        var number: String
        var carrier: Int?
    }

    /// Why a call as a whole failed.
    enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The key is wrong or the account cannot call (HTTP 401, or codes -18010001...-18010005).
        case unauthorized(String)
        /// HTTP 429: over the provider's request rate; try again later.
        case rateLimited
        /// The account's quota is used up (-18019908) or its daily limit reached (-18019907).
        case quotaExhausted(String)
        /// Any other refusal of the whole call, with the provider's code.
        case refused(code: Int, message: String)
        /// HTTP 5xx, a network failure or a timeout: transient.
        case unavailable(String)
        /// An answer that is not the documented shape.
        case malformed(String)

        var description: String {
            switch self {
            case .unauthorized(let message): "tracking provider refused the key: \(message)"
            case .rateLimited: "tracking provider rate limit reached (HTTP 429)"
            case .quotaExhausted(let message): "tracking provider quota exhausted: \(message)"
            case .refused(let code, let message): "tracking provider refused the call (\(code)): \(message)"
            case .unavailable(let message): "tracking provider unavailable: \(message)"
            case .malformed(let message): "tracking provider answered in an unexpected shape: \(message)"
            }
        }
    }

    /// One number the provider would not take, with its code and message.
    struct Rejection: Sendable, Hashable, Decodable {
        var number: String
        var error: Problem
    }

    struct Problem: Sendable, Hashable, Decodable {
        var code: Int
        var message: String?
    }

    /// -18019901: the number is registered already (for this account): not a failure.
    static let alreadyRegistered = -18019901
    /// -18019902: gettrackinfo for a number never registered.
    static let notRegistered = -18019902

    struct Registration: Sendable, Equatable {
        var accepted: [String]
        var rejected: [Rejection]
    }

    func register(_ items: [Item]) async throws(Failure) -> Registration {
        struct Accepted: Decodable { var number: String }
        struct Data: Decodable {
            var accepted: [Accepted]?
            var rejected: [Rejection]?
        }
        let data: Data = try await self.call("register", items)
        return Registration(accepted: (data.accepted ?? []).map(\.number), rejected: data.rejected ?? [])
    }

    /// A shipment's tracking as the provider reports it.
    struct TrackInfo: Sendable, Equatable {
        var number: String
        /// The main status (NotFound, InfoReceived, InTransit, Expired, AvailableForPickup,
        /// OutForDelivery, DeliveryFailure, Delivered, Exception).
        var status: String
        var subStatus: String
        /// Every provider's events, newest first, as reported.
        var events: [Event]
    }

    struct Event: Sendable, Equatable {
        var time: Date
        var description: String
        var location: String
        /// The event's sub-status (e.g. InTransit_PickedUp); its main status is the part before
        /// the underscore.
        var subStatus: String
    }

    func trackInfo(_ items: [Item]) async throws(Failure) -> (accepted: [TrackInfo], rejected: [Rejection]) {
        let data: TrackInfoData = try await self.call("gettrackinfo", items)
        return ((data.accepted ?? []).map { $0.info }, data.rejected ?? [])
    }

    struct Quota: Sendable, Equatable, Decodable {
        var quotaTotal: Int
        var quotaUsed: Int
        var quotaRemain: Int

        enum CodingKeys: String, CodingKey {
            case quotaTotal = "quota_total"
            case quotaUsed = "quota_used"
            case quotaRemain = "quota_remain"
        }
    }

    func quota() async throws(Failure) -> Quota {
        try await self.call("getquota", [Item]())
    }

    // MARK: - The wire

    /// The answer's envelope: `code` 0 and `data`, or a code and `data.errors`.
    private struct Envelope<Payload: Decodable>: Decodable {
        var code: Int
        var data: Payload?
    }

    private struct Errors: Decodable {
        var errors: [Problem]?
    }

    private func call<Payload: Decodable>(_ endpoint: String, _ items: [Item]) async throws(Failure) -> Payload {
        guard items.count <= Self.maxNumbersPerCall else {
            throw .refused(code: -18010014, message: "at most \(Self.maxNumbersPerCall) numbers a call, \(items.count) given")
        }
        var request = HTTPClientRequest(url: "\(self.baseURL)/\(endpoint)")
        request.method = .POST
        request.headers.add(name: "17token", value: self.token)
        request.headers.add(name: "Content-Type", value: "application/json")
        let status: HTTPResponseStatus
        let body: ByteBuffer
        do {
            request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(items)))
            let response = try await self.http.execute(request, timeout: self.timeout)
            status = response.status
            body = try await response.body.collect(upTo: 8 << 20)
        } catch {
            throw .unavailable("\(error)")
        }
        switch status.code {
        case 200: break
        case 401: throw .unauthorized(Self.firstError(body) ?? "HTTP 401")
        case 429: throw .rateLimited
        case 500...599: throw .unavailable("HTTP \(status.code)")
        default: throw .refused(code: Int(status.code), message: "HTTP \(status.code)")
        }
        let decoder = JSONDecoder()
        let code: Int
        do {
            code = try decoder.decode(Envelope<Errors>.self, from: body).code
        } catch {
            throw .malformed("\(endpoint): \(error)")
        }
        guard code == 0 else {
            let message = Self.firstError(body) ?? "code \(code)"
            switch code {
            case -18010005 ... -18010001: throw .unauthorized(message)
            case -18019908, -18019907: throw .quotaExhausted(message)
            default: throw .refused(code: code, message: message)
            }
        }
        do {
            guard let payload = try decoder.decode(Envelope<Payload>.self, from: body).data else {
                throw Failure.malformed("\(endpoint): no data")
            }
            return payload
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .malformed("\(endpoint): \(error)")
        }
    }

    private static func firstError(_ body: ByteBuffer) -> String? {
        guard let errors = try? JSONDecoder().decode(Envelope<Errors>.self, from: body).data?.errors, let first = errors.first else {
            return nil
        }
        return "\(first.message ?? "") (\(first.code))"
    }

    /// gettrackinfo's `data`, as far as PixEcom reads it.
    private struct TrackInfoData: Decodable {
        var accepted: [Accepted]?
        var rejected: [Rejection]?

        struct Accepted: Decodable {
            var number: String
            var trackInfo: Info?

            enum CodingKeys: String, CodingKey {
                case number
                case trackInfo = "track_info"
            }

            var info: TrackInfo {
                let events = (self.trackInfo?.tracking?.providers ?? []).flatMap { $0.events ?? [] }.compactMap { $0.event }
                return TrackInfo(
                    number: self.number, status: self.trackInfo?.latestStatus?.status ?? "NotFound",
                    subStatus: self.trackInfo?.latestStatus?.subStatus ?? "", events: events.sorted { $0.time > $1.time })
            }
        }

        struct Info: Decodable {
            var latestStatus: Status?
            var tracking: Tracking?

            enum CodingKeys: String, CodingKey {
                case latestStatus = "latest_status"
                case tracking
            }
        }

        struct Status: Decodable {
            var status: String?
            var subStatus: String?

            enum CodingKeys: String, CodingKey {
                case status
                case subStatus = "sub_status"
            }
        }

        struct Tracking: Decodable {
            var providers: [Provider]?
        }

        struct Provider: Decodable {
            var events: [RawEvent]?
        }

        struct RawEvent: Decodable {
            var timeUTC: String?
            var timeISO: String?
            var description: String?
            var location: String?
            var subStatus: String?

            enum CodingKeys: String, CodingKey {
                case timeUTC = "time_utc"
                case timeISO = "time_iso"
                case description, location
                case subStatus = "sub_status"
            }

            /// The event, when it has a time that parses.
            var event: Event? {
                guard let time = [self.timeUTC, self.timeISO].compactMap({ $0 }).lazy.compactMap(TrackingProvider.date).first else {
                    return nil
                }
                return Event(
                    time: time, description: self.description ?? "", location: self.location ?? "", subStatus: self.subStatus ?? "")
            }
        }
    }

    /// An RFC 3339 time with or without fractional seconds.
    static func date(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

extension TrackingProvider {
    static let defaultBaseURL = "https://api.17track.net/track/v2.2"
}

/// The HTTPS client of the tracking provider, shut down with the service.
struct TrackingHTTPClient: Service {
    let client: HTTPClient

    /// A client that verifies the provider's certificate against the system's roots and, when
    /// given, the PEM certificates of `caFile`.
    static func make(caFile: String?) throws -> TrackingHTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile, !caFile.isEmpty {
            tls.additionalTrustRoots = [.file(caFile)]
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(10), read: .seconds(30))
        return TrackingHTTPClient(client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration))
    }

    func run() async throws {
        try? await gracefulShutdown()
        try await self.client.shutdown()
    }
}
