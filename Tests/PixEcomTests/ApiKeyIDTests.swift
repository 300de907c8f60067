import Foundation
import Testing

@testable import AuthService

/// API keys made before key ids were random name their seller in their id and keep working.
@Suite("API key ids")
struct ApiKeyIDTests {
    @Test("a new key id is random hex naming no seller; an old-format id still yields its seller; anything else yields none")
    func keyIDs() throws {
        let id = ApiKeyStore.newPublicID()
        #expect(id.count == 24 && id.allSatisfy(\.isHexDigit))
        #expect(ApiKeyStore.legacySeller(publicID: id) == nil)
        let seller = UUID()
        let legacy = seller.uuidString.lowercased().replacingOccurrences(of: "-", with: "") + "0a1b2c"
        #expect(ApiKeyStore.legacySeller(publicID: legacy) == seller)
        #expect(ApiKeyStore.legacySeller(publicID: String(legacy.dropLast())) == nil)
        #expect(ApiKeyStore.legacySeller(publicID: "zz" + legacy.dropFirst(2)) == nil)
    }
}
