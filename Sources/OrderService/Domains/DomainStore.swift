import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// A seller's custom domains, proven by a DNS TXT record holding a token PixEcom issued (the
/// pattern of Search Console, Shopify and ACME dns-01). A domain is verified for one seller at
/// most; several may claim it while pending, and whoever proves it first has it. A check that no
/// longer finds the record takes the verification back: the record is the proof, every time.
struct DomainStore: Sendable {
    let db: PostgresClient
    let resolver: DNSResolver?

    /// The record's name is this label under the domain.
    static let recordLabel = "_pixecom-challenge"
    static let valuePrefix = "pixecom-domain-verification="

    /// Claims `domain` for the seller (again: the same claim and token).
    static func add(_ domain: String, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws
        -> Pixecom_Orders_V1_Domain
    {
        var generator = SystemRandomNumberGenerator()
        let token = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        try await connection.query(
            """
            INSERT INTO seller_domains (seller_id, domain, token) VALUES (\(sellerID), \(domain), \(token))
            ON CONFLICT (seller_id, domain) DO NOTHING
            """,
            logger: logger
        )
        guard let found = try await Self.load(domain, sellerID: sellerID, on: connection, logger: logger) else {
            throw RPCError(.internal, "domain claim vanished")
        }
        return found
    }

    func list(sellerID: UUID, logger: Logger) async throws -> [Pixecom_Orders_V1_Domain] {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.columns) FROM seller_domains WHERE seller_id = \(sellerID) ORDER BY domain", logger: logger)
            return try await Self.decodeDomains(rows)
        }
    }

    /// Looks the TXT record up now (no transaction open meanwhile) and records what it found.
    /// `keepOnFailure`: a lookup that got no answer (a timeout, a server error, a truncated
    /// answer) records its problem but leaves a verified domain verified; only an answer without
    /// the token (or without the name) takes the verification back. The periodic re-check uses
    /// it, so that a DNS outage does not unverify every domain at once.
    func verify(_ domain: String, sellerID: UUID, keepOnFailure: Bool = false, logger: Logger) async throws
        -> Pixecom_Orders_V1_Domain
    {
        guard
            let claimed = try await self.db.withSeller(
                sellerID, logger: logger, { connection in try await Self.load(domain, sellerID: sellerID, on: connection, logger: logger) })
        else { throw RPCError.notFound("domain") }
        guard let resolver = self.resolver else {
            throw RPCError(.failedPrecondition, "domain verification is not configured here: no DNS server (PIXECOM_DNS_SERVER)")
        }
        let expected = claimed.recordValue
        var problem = ""
        var definitive = true
        do {
            switch try await resolver.txt(claimed.recordName) {
            case .records(let records):
                if !records.contains(expected) {
                    problem =
                        records.isEmpty
                        ? "no TXT record at \(claimed.recordName)"
                        : "the TXT records at \(claimed.recordName) do not include \(expected)"
                }
            case .noSuchName: problem = "no TXT record at \(claimed.recordName) (the name does not exist)"
            case .failure(let code):
                problem = "the DNS server answered with error code \(code)"
                definitive = false
            case .truncated:
                problem = "the DNS answer was too large for UDP"
                definitive = false
            }
        } catch {
            problem = "DNS lookup failed: \(error)"
            definitive = false
        }
        logger.info(
            "domain.checked", metadata: ["seller.id": "\(sellerID)", "domain.name": "\(domain)", "domain.problem": "\(problem)"])
        return try await self.db.withSeller(sellerID, logger: logger) { connection in
            if problem.isEmpty {
                try await connection.query("SELECT set_config('app.domain_check', \(domain), true)", logger: logger)
                let others = try await connection.query(
                    """
                    SELECT count(*) FROM seller_domains WHERE domain = \(domain) AND verified_at IS NOT NULL AND seller_id <> \(sellerID)
                    """,
                    logger: logger
                )
                var taken = 0
                for try await count in others.decode(Int.self) { taken = count }
                guard taken == 0 else {
                    throw RPCError(.failedPrecondition, "\(domain) is already verified for another seller")
                }
                do {
                    try await connection.query(
                        """
                        UPDATE seller_domains SET verified_at = coalesce(verified_at, now()), checked_at = now(), last_error = ''
                        WHERE seller_id = \(sellerID) AND domain = \(domain)
                        """,
                        logger: logger
                    )
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                    throw RPCError(.failedPrecondition, "\(domain) is already verified for another seller")
                }
            } else if keepOnFailure && !definitive {
                try await connection.query(
                    """
                    UPDATE seller_domains SET checked_at = now(), last_error = \(problem)
                    WHERE seller_id = \(sellerID) AND domain = \(domain)
                    """,
                    logger: logger
                )
            } else {
                try await connection.query(
                    """
                    UPDATE seller_domains SET verified_at = NULL, checked_at = now(), last_error = \(problem)
                    WHERE seller_id = \(sellerID) AND domain = \(domain)
                    """,
                    logger: logger
                )
            }
            guard let updated = try await Self.load(domain, sellerID: sellerID, on: connection, logger: logger) else {
                throw RPCError.notFound("domain")
            }
            return updated
        }
    }

    static func load(_ domain: String, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws
        -> Pixecom_Orders_V1_Domain?
    {
        let rows = try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM seller_domains WHERE seller_id = \(sellerID) AND domain = \(domain)", logger: logger)
        return try await Self.decodeDomains(rows).first
    }

    /// The `seller_domains` columns `decodeDomains` reads, in order. A constant: never user input.
    private static let columns = "domain, token, verified_at, checked_at, last_error"

    private static func decodeDomains(_ rows: PostgresRowSequence) async throws -> [Pixecom_Orders_V1_Domain] {
        var domains: [Pixecom_Orders_V1_Domain] = []
        for try await (domain, token, verified, checked, error) in rows.decode((String, String, Date?, Date?, String).self) {
            var result = Pixecom_Orders_V1_Domain()
            result.domain = domain
            result.status = verified == nil ? .pendingVerification : .verified
            result.recordName = "\(Self.recordLabel).\(domain)"
            result.recordValue = Self.valuePrefix + token
            result.verifyTime = verified.map(RequestValidation.timestamp) ?? ""
            result.checkTime = checked.map(RequestValidation.timestamp) ?? ""
            result.lastError = error
            domains.append(result)
        }
        return domains
    }

    /// A host name as a domain: lower-cased, no trailing dot, 2 or more labels of a-z 0-9 -
    /// (1 to 63 bytes, not starting or ending with -), 253 bytes at most, the last label not all
    /// digits. International names in their xn-- form.
    static func hostName(_ value: String, field: String = "domain") throws -> String {
        var name = value.trimmingCharacters(in: .whitespaces).lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let valid =
            (1...253).contains(name.utf8.count) && labels.count >= 2
            && labels.allSatisfy { label in
                let bytes = Array(label.utf8)
                return (1...63).contains(bytes.count) && bytes.first != UInt8(ascii: "-") && bytes.last != UInt8(ascii: "-")
                    && bytes.allSatisfy {
                        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                            || $0 == UInt8(ascii: "-")
                    }
            }
            && !(labels.last?.allSatisfy(\.isNumber) ?? true)
        guard valid else {
            throw RPCError.invalidArgument(
                field: field, "must be a host name such as shop.example.com (letters, digits and -; no scheme, port or path)")
        }
        return name
    }
}
