import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat
import RPCKit
import ServiceKit
import SwiftProtobuf

/// One route of the edge: an HTTP verb and path over one RPC method, as the method's HTTP binding
/// in its .proto says (the rules of `google.api.http`). ContractGen writes the tables
/// (`Generated/EdgeRouteTable+<Service>.swift`); `EdgeRoutes` registers them on the router and
/// `OpenAPIDocument` describes them, so neither is written by hand.
///
/// A request becomes the RPC's message in this order: the JSON body, when the binding names one
/// (`*` the whole request, or one message field); the path parameters, which a body naming
/// another value for the same field cannot override (400); the query parameters, when the body is
/// not the whole request, each parsed as its field's type and given at most once (400 naming the
/// parameter); and, for a PATCH whose request has an `update_mask`, the mask: from the body, else
/// the `updateMask` query parameter, else the fields the body names (a JSON body can say "set the
/// budget to 0" only by naming the field). Errors, request ids, the `Authorization` and
/// `Idempotency-Key` headers and the body size limit are `RPCForwarder`'s, as for every route.
struct EdgeRoute: Sendable {
    /// The service whose method a route calls.
    enum Service: Sendable {
        case auth, campaign, stats, orders
    }

    /// A path or query parameter: its proto3 JSON name and its field's type.
    struct Parameter: Sendable, Equatable {
        let name: String
        let kind: Kind
    }

    /// The type of a parameter's field.
    enum Kind: Sendable, Equatable {
        case string, int32, int64, uint32, uint64, bool, double, float
        /// An enum, by the names and the numbers of its values.
        case enumeration([String])
    }

    /// Where the JSON body goes.
    enum Body: Sendable, Equatable {
        /// No body is read.
        case none
        /// `body: "*"`: the body is the whole request.
        case request
        /// `body: "<field>"`: the body is one field (its JSON name) holding a message (its full name).
        case field(String, message: String)
    }

    /// `pixecom.campaign.v1.CampaignService/GetCampaign`
    let method: String
    let verb: HTTPRequest.Method
    /// As OpenAPI writes it, each parameter named for its field's JSON name or, where another route
    /// names the same segment first, by that name (ContractGen): `/v1/campaigns/{id}/stats`.
    let path: String
    let service: Service
    /// Full protobuf names: `pixecom.stats.v1.GetCampaignStatsRequest`.
    let requestMessage: String
    let responseMessage: String
    let body: Body
    let pathParameters: [Parameter]
    let queryParameters: [Parameter]
    /// A PATCH whose request carries an update mask, which the mask rule fills.
    let hasUpdateMask: Bool
    private let handle: @Sendable (Request, EdgeRequestContext, RPCForwarder, RPCClient) async throws -> Response

    init<Input: SwiftProtobuf.Message, Output: SwiftProtobuf.Message>(
        _ method: String,
        _ verb: HTTPRequest.Method,
        _ path: String,
        service: Service,
        _ input: Input.Type,
        _ output: Output.Type,
        path pathFields: [Field<Input>] = [],
        query queryFields: [Field<Input>] = [],
        body: BodyBinding<Input> = .none,
        updateMask: UpdateMask<Input>? = nil
    ) {
        self.method = method
        self.verb = verb
        self.path = path
        self.service = service
        self.requestMessage = Input.protoMessageName
        self.responseMessage = Output.protoMessageName
        self.body = body.kind
        self.pathParameters = pathFields.map(\.parameter)
        // The body fills every field when it is the whole request.
        let readQuery = body.kind == .request ? [] : queryFields
        self.queryParameters = readQuery.map(\.parameter)
        self.hasUpdateMask = updateMask != nil
        let maskedOut = Set(pathFields.map(\.parameter.name) + ["updateMask"])
        // A method that needs a caller's token is refused 401 before its request is read, so a
        // caller without credentials learns that first, whatever else is wrong with the request.
        let needsToken = ServiceContracts.all.first { $0.name == method }.map { $0.access != .anyone } ?? true
        self.handle = { request, context, forwarder, client in
            if needsToken, context.authorization == nil, request.headers[.authorization] == nil {
                throw RPCError(.unauthenticated, "an access token or API key is required (Authorization: Bearer ...)")
            }
            var message = Input()
            var bodyBytes: ByteBuffer?
            if body.kind != .none {
                var request = request
                let collected = try await request.collectBody(upTo: forwarder.maxBodyBytes)
                message = try body.decode(collected, request.headers, forwarder)
                bodyBytes = collected
            }
            for field in pathFields {
                try field.assign(&message, try context.parameters.require(field.parameter.name), true)
            }
            for field in readQuery {
                let values = request.uri.queryParameters.getAll(field.parameter.name)
                guard let text = values.first else { continue }
                guard values.count == 1 else { throw RPCError.invalidArgument(field: field.parameter.name, "must be given once") }
                try field.assign(&message, text, false)
            }
            if let mask = updateMask?.field, message[keyPath: mask].isEmpty {
                message[keyPath: mask] = request.uri.queryParameters.get("updateMask") ?? ""
                if message[keyPath: mask].isEmpty, let bodyBytes {
                    message[keyPath: mask] = Self.fieldsNamed(in: bodyBytes).filter { !maskedOut.contains($0) }.joined(separator: ",")
                }
            }
            let reply = try await forwarder.call(client, method, message, as: Output.self, http: request, context: context)
            return try forwarder.json(reply)
        }
    }

    /// Answers `request` by calling the route's method through `forwarder` on `client`.
    func respond(to request: Request, context: EdgeRequestContext, forwarder: RPCForwarder, client: RPCClient) async throws -> Response {
        try await self.handle(request, context, forwarder, client)
    }

    /// The path as Hummingbird's router writes it: `/v1/campaigns/:id/stats`.
    var routerPath: String {
        self.path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : String(segment)
        }.joined(separator: "/")
    }

    /// The top-level keys of a JSON object body, sorted.
    static func fieldsNamed(in body: ByteBuffer) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else { return [] }
        return object.keys.sorted()
    }
}
