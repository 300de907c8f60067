import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// A stand-in for 17TRACK's tracking API v2.2 over HTTPS, answering in its documented shapes:
/// `POST /track/v2.2/register`, `/gettrackinfo` and `/getquota`, the key in the `17token`
/// header (HTTP 401 with `data.errors` for a wrong one), at most 40 numbers a call (-18010014),
/// registration costing one unit of quota (-18019908 when none is left, -18019901 for a number
/// registered before, -18010012 for a malformed one), gettrackinfo of an unregistered number
/// rejected with -18019902, and HTTP 429 when the test asks for it.
///
/// What the carrier "reported" for a number is set by the test (`script`).
final class TrackingStandIn: Sendable {
    struct Scan: Sendable {
        var time: String
        var subStatus: String
        var description: String
        var location: String
    }

    struct Track: Sendable {
        var status: String
        var subStatus: String
        /// Newest first, as 17TRACK lists them.
        var scans: [Scan]
    }

    struct State {
        var quota = 100
        var registered: [String: Int] = [:]
        var tracks: [String: Track] = [:]
        var tooManyRequests = 0
        /// Each call: the endpoint and the numbers it named.
        var calls: [(endpoint: String, numbers: [String])] = []
    }

    let token: String
    /// The state the server's handlers use.
    let shared: NIOLockedValueBox<State>
    private let task: Task<Void, any Error>
    let port: Int

    var baseURL: String { "https://127.0.0.1:\(self.port)/track/v2.2" }

    /// Starts serving on an ephemeral port of 127.0.0.1 with `certificate` and `key` (PEM files).
    static func start(token: String, certificate: String, key: String) async throws -> TrackingStandIn {
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let state = NIOLockedValueBox(State())
        let router = Router()
        for endpoint in ["register", "gettrackinfo", "getquota"] {
            router.post("/track/v2.2/\(endpoint)") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                return Self.answer(endpoint, token: token, key: request.headers[HTTPField.Name("17token")!], body: body, state: state)
            }
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        let app = Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
        let task = Task { try await app.runService() }
        var port = 0
        for await bound in stream {
            port = bound
            break
        }
        return TrackingStandIn(token: token, state: state, task: task, port: port)
    }

    private init(token: String, state: NIOLockedValueBox<State>, task: Task<Void, any Error>, port: Int) {
        self.token = token
        self.shared = state
        self.task = task
        self.port = port
    }

    func script(_ number: String, _ track: Track) {
        self.shared.withLockedValue { $0.tracks[number] = track }
    }

    func failNext(_ count: Int) {
        self.shared.withLockedValue { $0.tooManyRequests = count }
    }

    var calls: [(endpoint: String, numbers: [String])] { self.shared.withLockedValue { $0.calls } }
    var quota: Int { self.shared.withLockedValue { $0.quota } }

    func stop() async {
        self.task.cancel()
        _ = try? await self.task.value
    }

    // MARK: - Answers

    private static func json(_ status: HTTPResponse.Status, _ object: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    private static func failure(_ status: HTTPResponse.Status, code: Int, _ message: String) -> Response {
        Self.json(status, ["code": code, "data": ["errors": [["code": code, "message": message]]]])
    }

    static func answer(_ endpoint: String, token: String, key: String?, body: ByteBuffer, state: NIOLockedValueBox<State>) -> Response {
        guard key == token else { return Self.failure(.unauthorized, code: -18010002, "Invalid security key.") }
        return state.withLockedValue { state in
            if state.tooManyRequests > 0 {
                state.tooManyRequests -= 1
                return Response(status: .tooManyRequests, body: ResponseBody(byteBuffer: ByteBuffer(string: "Too Many Requests")))
            }
            let parsed = try? JSONSerialization.jsonObject(with: Data(buffer: body))
            if endpoint == "getquota" {
                state.calls.append((endpoint, []))
                return Self.json(
                    .ok,
                    [
                        "code": 0,
                        "data": [
                            "quota_total": 100, "quota_used": 100 - state.quota, "quota_remain": state.quota,
                            "today_used": 100 - state.quota,
                            "max_track_daily": 0, "free_email_quota": 0, "free_email_quotaused": 0,
                        ],
                    ])
            }
            guard let items = parsed as? [[String: Any]], items.allSatisfy({ $0["number"] is String }) else {
                return Self.failure(.ok, code: -18010013, "Invalid data.")
            }
            guard items.count <= 40 else { return Self.failure(.ok, code: -18010014, "Tracking numbers exceed the 40 limit.") }
            let numbers = items.map { $0["number"] as! String }
            state.calls.append((endpoint, numbers))
            var accepted: [[String: Any]] = []
            var rejected: [[String: Any]] = []
            func reject(_ number: String, _ code: Int, _ message: String) {
                rejected.append(["number": number, "tag": NSNull(), "error": ["code": code, "message": message]])
            }
            for (item, number) in zip(items, numbers) {
                switch endpoint {
                case "register":
                    let carrier = item["carrier"] as? Int
                    if number.range(of: "^[A-Za-z0-9]{5,50}$", options: .regularExpression) == nil {
                        reject(number, -18010012, "The format of '\(number)' is invalid.")
                    } else if state.registered[number] != nil {
                        reject(number, -18019901, "Tracking number \(number) is already registered.")
                    } else if state.quota == 0 {
                        reject(number, -18019908, "Your quotas have run out.")
                    } else {
                        state.quota -= 1
                        state.registered[number] = carrier ?? 3011
                        accepted.append(["origin": carrier == nil ? 1 : 2, "number": number, "carrier": carrier ?? 3011, "tag": NSNull()])
                    }
                default:
                    guard let carrier = state.registered[number] else {
                        reject(number, -18019902, "The tracking number '\(number)' does not register, please register first.")
                        continue
                    }
                    let track = state.tracks[number] ?? Track(status: "NotFound", subStatus: "NotFound_Other", scans: [])
                    accepted.append(Self.trackInfo(number: number, carrier: carrier, track))
                }
            }
            return Self.json(.ok, ["code": 0, "data": ["accepted": accepted, "rejected": rejected]])
        }
    }

    private static func trackInfo(number: String, carrier: Int, _ track: Track) -> [String: Any] {
        let address: [String: Any] = [
            "country": "US", "state": NSNull(), "city": NSNull(), "street": NSNull(), "postal_code": NSNull(),
            "coordinates": ["longitude": NSNull(), "latitude": NSNull()],
        ]
        let events: [[String: Any]] = track.scans.map { scan in
            [
                "time_iso": scan.time, "time_utc": Self.utc(scan.time),
                "time_raw": [
                    "date": String(scan.time.prefix(10)), "time": String(scan.time.dropFirst(11).prefix(8)), "timezone": NSNull(),
                ],
                "description": scan.description, "description_translation": NSNull(), "location": scan.location, "stage": NSNull(),
                "sub_status": scan.subStatus, "address": address,
            ]
        }
        return [
            "number": number, "carrier": carrier, "param": NSNull(), "tag": NSNull(),
            "track_info": [
                "shipping_info": ["shipper_address": address, "recipient_address": address],
                "latest_status": ["status": track.status, "sub_status": track.subStatus, "sub_status_descr": NSNull()],
                "latest_event": events.first.map { $0 as Any } ?? NSNull(),
                "time_metrics": [
                    "days_after_order": 1, "days_of_transit": 1, "days_of_transit_done": 0, "days_after_last_update": 0,
                    "estimated_delivery_date": ["source": NSNull(), "from": NSNull(), "to": NSNull()],
                ],
                "milestone": [],
                "misc_info": ["risk_factor": 0, "service_type": NSNull(), "local_number": "", "local_provider": "", "local_key": 0],
                "tracking": [
                    "providers_hash": 1,
                    "providers": [
                        [
                            "provider": [
                                "key": carrier, "name": "Carrier \(carrier)", "alias": NSNull(), "tel": NSNull(), "homepage": NSNull(),
                                "country": "",
                            ],
                            "service_type": NSNull(), "latest_sync_status": "Success", "latest_sync_time": "2026-12-07T00:00:00Z",
                            "events_hash": 1, "events": events,
                        ]
                    ],
                ],
            ],
        ]
    }

    /// A time with an offset as UTC (`time_utc`).
    private static func utc(_ time: String) -> String {
        guard let date = try? Date(time, strategy: .iso8601) else { return time }
        return date.formatted(.iso8601)
    }
}
