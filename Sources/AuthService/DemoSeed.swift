import Foundation
import Logging

/// The development demo seller ("Demo Store", pro plan): created once, with a random e-mail and
/// password, whose
/// credentials go to a file only the operator can read (mode 0600) and nowhere else (the log
/// names the e-mail and the file, never the password). Production refuses to start with it
/// (`AuthConfiguration`).
struct DemoSeed: Sendable {
    let file: String
    let accounts: AccountStore
    let hasher: PasswordHasher

    /// Creates the demo seller unless the file already exists (an earlier start made it).
    func ensure(logger: Logger) async throws {
        guard !FileManager.default.fileExists(atPath: self.file) else {
            logger.info("demo.seed.exists", metadata: ["demo.file": "\(self.file)"])
            return
        }
        let email = "demo-\(Self.random(6, alphabet: "0123456789abcdef"))@example.com"
        let password = Self.random(24, alphabet: "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        let hash = try await self.hasher.hash(password)
        // On the pro plan, so the walkthrough can be run again and again without meeting the
        // free plan's one ad account.
        let (sellerID, _) = try await self.accounts.register(
            sellerName: "Demo Store", email: email, passwordHash: hash, plan: "pro", logger: logger)
        let contents = "EMAIL=\(email)\nPASSWORD=\(password)\nSELLER_ID=\(sellerID.uuidString.lowercased())\n"
        let temporary = self.file + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(contents.utf8), attributes: [.posixPermissions: 0o600]),
            rename(temporary, self.file) == 0
        else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: self.file])
        }
        logger.notice("demo.seeded", metadata: ["demo.email": "\(email)", "demo.file": "\(self.file)"])
    }

    /// `count` characters drawn uniformly from `alphabet` (bytes that would bias the draw are
    /// skipped).
    private static func random(_ count: Int, alphabet: String) -> String {
        let characters = Array(alphabet)
        let usable = 256 - 256 % characters.count
        var result = ""
        while result.count < count {
            for byte in SecureRandom.bytes(count) where Int(byte) < usable && result.count < count {
                result.append(characters[Int(byte) % characters.count])
            }
        }
        return result
    }
}
