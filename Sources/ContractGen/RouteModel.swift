import Foundation
import PixEcomProtos
import SwiftProtobuf

/// One edge route as the generator writes it: a method's HTTP binding resolved against its
/// request message, so every path segment, query parameter and body field names a real field
/// with its JSON name, its Swift property and its type.
struct RouteModel {
    /// A request field the path or the query string fills.
    struct Parameter {
        /// `campaign_id`
        let field: String
        /// `campaignId`: the proto3 JSON name, which names the parameter in the query string and,
        /// unless another route names the same path segment first (`sharingPathNames`), in the path.
        var jsonName: String
        /// `campaignID`, as protoc-gen-swift names the property.
        let swiftName: String
        let kind: Kind
    }

    /// What a parameter holds, so the edge parses it as the field's type.
    enum Kind {
        case string, int32, int64, uint32, uint64, bool, double, float
        /// An enum field: its Swift type and its values by proto name.
        case enumeration(swiftType: String, values: [(name: String, number: Int32)])
    }

    /// Where the JSON body goes.
    enum Body {
        case none
        /// `body: "*"`: the whole request.
        case request
        /// `body: "rows"`: one message field.
        case field(swiftName: String, jsonName: String, swiftType: String)
    }

    let verb: String
    /// The path as the binding writes it: `/v1/campaigns/{campaign_id}/stats`.
    let protoPath: String
    /// The path with the parameters' names, as the edge and OpenAPI write it: `/v1/ad-sets/{id}`.
    var path: String
    var pathParameters: [Parameter]
    let queryParameters: [Parameter]
    let body: Body
    /// A PATCH whose request has a string `update_mask`: the edge fills it when the body does not.
    let updateMask: Parameter?
}

/// What the generator knows of every message and enum of the descriptor set.
struct TypeIndex {
    var messages: [String: (descriptor: Google_Protobuf_DescriptorProto, swiftName: String)] = [:]
    var enums: [String: (descriptor: Google_Protobuf_EnumDescriptorProto, swiftName: String)] = [:]
}

extension RouteModel {
    /// The route of `rule` over `request`, or the problems that keep it from being one.
    static func make(
        _ rule: Pixecom_Options_V1_HttpRule,
        request: Google_Protobuf_DescriptorProto,
        method: String,
        types: TypeIndex
    ) -> Result<RouteModel, ContractError> {
        var problems: [String] = []
        guard let binding = HTTPBinding(rule), !binding.path.isEmpty else {
            return .failure(ContractError(description: "\(method): the HTTP binding has no verb and path"))
        }
        let fields = Dictionary(request.field.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        func parameter(_ name: String, in place: String) -> Parameter? {
            guard let field = fields[name] else {
                problems.append("\(method): \(place) {\(name)} is not a field of \(request.name)")
                return nil
            }
            guard field.label != .repeated, let kind = self.kind(of: field, types: types) else {
                problems.append(
                    "\(method): \(place) \(name) must be a single scalar or enum field (it cannot be \(place == "path parameter" ? "a path segment" : "read from the query string"))"
                )
                return nil
            }
            return Parameter(field: name, jsonName: self.jsonName(field), swiftName: self.swiftName(name), kind: kind)
        }

        let pathParameters = HTTPBinding.parameters(of: binding.path).compactMap { parameter($0, in: "path parameter") }
        var path = binding.path
        for parameter in pathParameters { path = path.replacingOccurrences(of: "{\(parameter.field)}", with: "{\(parameter.jsonName)}") }

        let body: Body
        switch rule.body {
        case "": body = .none
        case "*": body = .request
        case let name:
            if let field = fields[name], field.type == .message, field.label != .repeated, let message = types.messages[field.typeName] {
                body = .field(swiftName: self.swiftName(name), jsonName: self.jsonName(field), swiftType: message.swiftName)
            } else if fields[name] == nil {
                problems.append("\(method): body \"\(name)\" is not a field of \(request.name)")
                body = .none
            } else {
                problems.append("\(method): body \"\(name)\" must be a single message field of \(request.name)")
                body = .none
            }
        }
        if binding.verb == "GET" || binding.verb == "DELETE", !rule.body.isEmpty {
            problems.append("\(method): a \(binding.verb) has no body: drop `body` (the query string fills the other fields)")
        }

        // google.api.http: unless the body is the whole request, the fields neither the path nor
        // the body fill come from the query string.
        var queryParameters: [Parameter] = []
        if rule.body != "*" {
            let taken = Set(pathParameters.map(\.field) + [rule.body])
            for field in request.field where !taken.contains(field.name) {
                if let query = parameter(field.name, in: "query parameter") { queryParameters.append(query) }
            }
        }

        var updateMask: Parameter?
        if binding.verb == "PATCH", let field = fields["update_mask"], field.type == .string, field.label != .repeated {
            updateMask = Parameter(
                field: "update_mask", jsonName: self.jsonName(field), swiftName: self.swiftName("update_mask"), kind: .string)
        }
        guard problems.isEmpty else { return .failure(ContractError(description: problems.joined(separator: "\n"))) }
        return .success(
            RouteModel(
                verb: binding.verb, protoPath: binding.path, path: path, pathParameters: pathParameters,
                queryParameters: queryParameters, body: body, updateMask: updateMask))
    }

    private static func kind(of field: Google_Protobuf_FieldDescriptorProto, types: TypeIndex) -> Kind? {
        switch field.type {
        case .string: return .string
        case .int32, .sint32, .sfixed32: return .int32
        case .int64, .sint64, .sfixed64: return .int64
        case .uint32, .fixed32: return .uint32
        case .uint64, .fixed64: return .uint64
        case .bool: return .bool
        case .double: return .double
        case .float: return .float
        case .enum:
            guard let found = types.enums[field.typeName] else { return nil }
            return .enumeration(swiftType: found.swiftName, values: found.descriptor.value.map { ($0.name, $0.number) })
        default: return nil
        }
    }

    /// `routes` with one name for each path segment that is a parameter: the router of the edge
    /// keeps one parameter name per position (`/v1/campaigns/{id}` and
    /// `/v1/campaigns/{campaign_id}/stats` share the segment), so a parameter takes the name the
    /// first route in .proto order gave that segment (`/v1/campaigns/{id}/stats`, filling
    /// `campaign_id`), else its JSON name.
    static func sharingPathNames(_ routes: [RouteModel]) -> [RouteModel] {
        var names: [String: String] = [:]
        return routes.map { route in
            var route = route
            var segments = route.path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            var parameters = route.pathParameters.makeIterator()
            var renamed: [Parameter] = []
            for index in segments.indices where segments[index].hasPrefix("{") {
                guard var parameter = parameters.next() else { break }
                // The segments before this one, parameters written as `{}`: the router's position.
                let position = segments[..<index].map { $0.hasPrefix("{") ? "{}" : $0 }.joined(separator: "/")
                parameter.jsonName = names[position] ?? parameter.jsonName
                names[position] = parameter.jsonName
                segments[index] = "{\(parameter.jsonName)}"
                renamed.append(parameter)
            }
            route.pathParameters = renamed
            route.path = segments.joined(separator: "/")
            return route
        }
    }

    /// The proto3 JSON name: protoc records it; lowerCamelCase of the field name otherwise.
    static func jsonName(_ field: Google_Protobuf_FieldDescriptorProto) -> String {
        if field.hasJsonName { return field.jsonName }
        let words = field.name.split(separator: "_")
        return (words.first.map(String.init) ?? "") + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// A field's Swift property as protoc-gen-swift names it: lowerCamelCase, with `id`, `url`,
    /// `http` and `https` upper-cased after the first word (`parent_id` -> `parentID`).
    static func swiftName(_ field: String) -> String {
        let abbreviations: Set<Substring> = ["id", "url", "http", "https"]
        let words = field.split(separator: "_").map { $0.lowercased()[...] }
        guard let first = words.first else { return field }
        return String(first)
            + words.dropFirst().map { abbreviations.contains($0) ? $0.uppercased() : $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}
