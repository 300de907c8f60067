import Foundation
import PixEcomProtos
import SwiftProtobuf

/// One RPC method as the contract generator sees it: its names, its Swift types and its options.
struct MethodModel {
    /// `Register`
    let name: String
    /// `pixecom.auth.v1.AuthService/Register`
    let fullName: String
    let requestType: String
    let responseType: String
    let serverStreaming: Bool
    let contract: Pixecom_Options_V1_MethodContract
    /// The request message, for checking path parameters and body fields.
    let request: Google_Protobuf_DescriptorProto
    /// The edge route of its HTTP binding; nil without one (internal methods, manual routes).
    var route: RouteModel?

    /// `register`
    var swiftName: String { name.prefix(1).lowercased() + name.dropFirst() }
}

/// One service of the contracts: `pixecom.auth.v1.AuthService`.
struct ServiceModel {
    /// `pixecom.auth.v1`
    let protoPackage: String
    /// `AuthService`
    let name: String
    /// `Protos/pixecom/auth/v1/auth.proto`
    let file: String
    var methods: [MethodModel]

    /// `auth`: the package's service part, which names the access policy (`AccessPolicy.auth`).
    var shortName: String { String(self.protoPackage.split(separator: ".")[1]) }
    /// `Auth`: the service name without `Service`, which names `AuthMethods`.
    var stem: String { self.name.hasSuffix("Service") ? String(self.name.dropLast("Service".count)) : self.name }
}

/// A contract that cannot be generated: which method or file, and what is wrong.
struct ContractError: Error, CustomStringConvertible {
    let description: String
}

enum ContractModel {
    /// Packages whose services belong to RPCKit itself or to its tests, not to PixEcom's
    /// contracts: they carry no method options.
    static let excludedPackages: Set<String> = ["pixecom.health.v1", "pixecom.testing.v1", "pixecom.rpc.v1", "pixecom.options.v1"]

    /// The services of `set` (a `FileDescriptorSet` with source info), validated.
    static func services(in set: Google_Protobuf_FileDescriptorSet) throws -> [ServiceModel] {
        var types = TypeIndex()
        for file in set.file {
            let swiftPrefix = self.swiftPrefix(package: file.package)
            for message in file.messageType {
                self.collect(message, protoPrefix: ".\(file.package)", swiftPrefix: swiftPrefix, into: &types)
            }
            for enumeration in file.enumType {
                types.enums[".\(file.package).\(enumeration.name)"] = (enumeration, swiftPrefix + enumeration.name)
            }
        }
        let messages = types.messages
        var routes: [String: String] = [:]
        var services: [ServiceModel] = []
        var problems: [String] = []
        for file in set.file where file.package.hasPrefix("pixecom.") && !self.excludedPackages.contains(file.package) {
            for service in file.service {
                var methods: [MethodModel] = []
                for method in service.method {
                    let fullName = "\(file.package).\(service.name)/\(method.name)"
                    guard method.options.hasPixecom_Options_V1_method else {
                        problems.append(
                            "\(fullName): no (pixecom.options.v1.method) option: every method states its access, idempotency and HTTP binding"
                        )
                        continue
                    }
                    let contract = method.options.Pixecom_Options_V1_method
                    guard let request = messages[method.inputType], let response = messages[method.outputType] else {
                        problems.append("\(fullName): request or response type not found")
                        continue
                    }
                    problems += self.problems(of: contract, method: fullName)
                    var route: RouteModel?
                    if contract.hasHTTP && contract.manualRoute.isEmpty {
                        switch RouteModel.make(contract.http, request: request.descriptor, method: fullName, types: types) {
                        case .success(let made):
                            route = made
                            let key =
                                "\(made.verb) \(made.path.replacingOccurrences(of: #"\{[^}]*\}"#, with: "{}", options: .regularExpression))"
                            if let other = routes[key] {
                                problems.append("\(fullName): \(made.verb) \(made.protoPath) is already the route of \(other)")
                            }
                            routes[key] = fullName
                        case .failure(let error):
                            problems.append(error.description)
                        }
                    }
                    methods.append(
                        MethodModel(
                            name: method.name,
                            fullName: fullName,
                            requestType: request.swiftName,
                            responseType: response.swiftName,
                            serverStreaming: method.serverStreaming,
                            contract: contract,
                            request: request.descriptor,
                            route: route
                        )
                    )
                }
                services.append(ServiceModel(protoPackage: file.package, name: service.name, file: "Protos/\(file.name)", methods: methods))
            }
        }
        guard problems.isEmpty else { throw ContractError(description: problems.joined(separator: "\n")) }
        return self.sharingPathNames(services)
    }

    /// `services` with the path parameters of their routes named as `RouteModel.sharingPathNames`
    /// says, across every service (the edge has one router).
    private static func sharingPathNames(_ services: [ServiceModel]) -> [ServiceModel] {
        let routes = services.flatMap { $0.methods.compactMap(\.route) }
        var shared = RouteModel.sharingPathNames(routes).makeIterator()
        var services = services
        for service in services.indices {
            for method in services[service].methods.indices where services[service].methods[method].route != nil {
                services[service].methods[method].route = shared.next()
            }
        }
        return services
    }

    /// Every message by its full proto name (`.pixecom.auth.v1.Member`), with its Swift name as
    /// protoc-gen-swift makes it: the package's prefix (`Pixecom_Auth_V1_`), then the message,
    /// nested messages as nested types (`Outer.Inner`).
    private static func collect(
        _ message: Google_Protobuf_DescriptorProto,
        protoPrefix: String,
        swiftPrefix: String,
        into types: inout TypeIndex
    ) {
        let name = "\(protoPrefix).\(message.name)"
        let swiftName = swiftPrefix + message.name
        types.messages[name] = (message, swiftName)
        for nested in message.nestedType {
            self.collect(nested, protoPrefix: name, swiftPrefix: swiftName + ".", into: &types)
        }
        for enumeration in message.enumType {
            types.enums["\(name).\(enumeration.name)"] = (enumeration, swiftName + "." + enumeration.name)
        }
    }

    /// The narrow API-key scopes AuthService issues (READ and FULL reach methods by role alone).
    static let knownKeyScopes: Set<String> = ["ASSETS"]

    /// What is wrong with a method's options, one line per problem (its HTTP binding is checked
    /// by `RouteModel.make`).
    static func problems(of contract: Pixecom_Options_V1_MethodContract, method: String) -> [String] {
        var problems: [String] = []
        if contract.summary.isEmpty { problems.append("\(method): summary is empty") }
        switch contract.access {
        case .unspecified, .UNRECOGNIZED:
            problems.append("\(method): access is not set (ANYONE, VIEWER, EDITOR, ADMIN, OWNER or SERVICES)")
        case .services:
            if contract.services.isEmpty { problems.append("\(method): access SERVICES names no service") }
        default:
            if !contract.services.isEmpty { problems.append("\(method): services are named but access is not SERVICES") }
        }
        if contract.hasHTTP && !contract.manualRoute.isEmpty {
            problems.append("\(method): both an HTTP binding and a manual route")
        }
        if !contract.keyScopes.isEmpty {
            if [.anyone, .services].contains(contract.access) {
                problems.append("\(method): key_scopes are for methods a seller's token calls, not \(contract.access)")
            }
            for scope in contract.keyScopes where !Self.knownKeyScopes.contains(scope) {
                problems.append("\(method): key scope \"\(scope)\" is not one of \(Self.knownKeyScopes.sorted().joined(separator: ", "))")
            }
        }
        return problems
    }

    /// `pixecom.auth.v1` -> `Pixecom_Auth_V1_`, as protoc-gen-swift prefixes a package's types
    /// (components capitalised, `snake_case` components camel-cased).
    static func swiftPrefix(package: String) -> String {
        guard !package.isEmpty else { return "" }
        let components = package.split(separator: ".").map { component in
            component.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        }
        return components.joined(separator: "_") + "_"
    }
}

/// A method's HTTP binding: the verb and the path template.
struct HTTPBinding {
    let verb: String
    let path: String

    init?(_ rule: Pixecom_Options_V1_HttpRule) {
        switch rule.pattern {
        case .get(let path): (self.verb, self.path) = ("GET", path)
        case .put(let path): (self.verb, self.path) = ("PUT", path)
        case .post(let path): (self.verb, self.path) = ("POST", path)
        case .delete(let path): (self.verb, self.path) = ("DELETE", path)
        case .patch(let path): (self.verb, self.path) = ("PATCH", path)
        case nil: return nil
        }
    }

    /// The `{field}` segments of a path template.
    static func parameters(of path: String) -> [String] {
        path.split(separator: "/").compactMap { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? String(segment.dropFirst().dropLast()) : nil
        }
    }
}
