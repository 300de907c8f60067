import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// Checks of AuthService's request fields; every failure names the field.
enum AuthValidation {
    /// Passwords: at least 12 characters (NIST SP 800-63B asks for at least 8, 15 without a second
    /// factor), at most 1024 so that hashing cost stays bounded. Any characters are allowed.
    static let passwordLength = 12...1024

    /// Characters are Unicode code points, as JSON Schema's minLength and maxLength count them.
    static func password(_ value: String, field: String = "password") throws -> String {
        let count = value.unicodeScalars.count
        guard count >= passwordLength.lowerBound else {
            throw RPCError.invalidArgument(field: field, "must be at least \(passwordLength.lowerBound) characters")
        }
        guard count <= passwordLength.upperBound else {
            throw RPCError.invalidArgument(field: field, "must be at most \(passwordLength.upperBound) characters")
        }
        return value
    }

    /// An e-mail address, trimmed and lower-cased: one `@`, a non-empty local part, a domain with a
    /// dot, no spaces or control characters, at most 320 characters.
    static func email(_ value: String, field: String = "email") throws -> String {
        let email = value.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard !email.isEmpty else { throw RPCError.invalidArgument(field: field, "is required") }
        guard email.count <= 320 else { throw RPCError.invalidArgument(field: field, "must be at most 320 characters") }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            email.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F })
        else {
            throw RPCError.invalidArgument(field: field, "must be an e-mail address such as name@example.com")
        }
        return email
    }

    /// A role named in a request (case-insensitive).
    static func role(_ value: String, field: String = "role") throws -> Role {
        guard !value.isEmpty else { throw RPCError.invalidArgument(field: field, "is required") }
        guard let role = Role(text: value) else {
            throw RPCError.invalidArgument(field: field, "must be one of VIEWER, EDITOR, ADMIN, got \"\(value.prefix(32))\"")
        }
        return role
    }

    /// The fields of an invitation, all checked at once.
    static func invitation(_ request: Pixecom_Auth_V1_InviteMemberRequest) throws -> (email: String, role: Role) {
        var violations = FieldViolations()
        let email = try violations.check { try Self.email(request.email) }
        let role = try violations.check { try Self.role(request.role) }
        try violations.throwIfAny()
        guard let email, let role else { throw RPCError.invalidArgument(violations.violations) }
        return (email, role)
    }

    /// The fields of a new API key, all checked at once.
    static func apiKey(_ request: Pixecom_Auth_V1_CreateApiKeyRequest) throws -> (name: String, scope: ApiKeyStore.Scope) {
        var violations = FieldViolations()
        let name = try violations.check { try RequestValidation.text(request.name, field: "name", maxLength: 200) }
        let scope = ApiKeyStore.Scope(rawValue: request.scope.uppercased())
        if scope == nil {
            violations.add(field: "scope", request.scope.isEmpty ? "is required" : "must be READ, FULL or ASSETS")
        }
        try violations.throwIfAny()
        guard let name, let scope else { throw RPCError.invalidArgument(violations.violations) }
        return (name, scope)
    }

    /// The fields of a registration, all checked at once so the caller sees every problem.
    static func registration(_ request: Pixecom_Auth_V1_RegisterRequest) throws -> (sellerName: String, email: String, password: String) {
        var violations = FieldViolations()
        let name = try violations.check { try RequestValidation.text(request.sellerName, field: "seller_name") }
        let email = try violations.check { try Self.email(request.email) }
        let password = try violations.check { try Self.password(request.password) }
        try violations.throwIfAny()
        guard let name, let email, let password else { throw RPCError.invalidArgument(violations.violations) }
        return (name, email, password)
    }
}
