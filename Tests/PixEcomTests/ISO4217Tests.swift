import RPCKit
import ServiceKit
import Testing

/// The ISO 4217 table every service checks currencies against.
@Suite("ISO 4217 currencies")
struct ISO4217Tests {
    @Test("active codes carry their minor-unit exponent")
    func knownCodesAndExponents() {
        let expected: [String: Int] = [
            "USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "XOF": 0,
            "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3, "TND": 3, "IQD": 3, "LYD": 3, "CLF": 4, "UYW": 4,
            "SLE": 2, "ZWG": 2, "XCG": 2, "VED": 2,
        ]
        for (code, exponent) in expected {
            #expect(ISO4217.exponent(of: code) == exponent, "\(code)")
        }
        #expect(ISO4217.codes.count > 150)
        #expect(ISO4217.codes == ISO4217.codes.sorted())
        #expect(ISO4217.codes.allSatisfy { $0.count == 3 && $0.allSatisfy { $0.isASCII && $0.isUppercase } })
    }

    @Test("invented, withdrawn, lower-case and minor-unit-less codes are not money")
    func otherCodesAreRefused() throws {
        for code in ["QQQ", "XYZ", "usd", "Usd", "", "US", "USDD", "HRK", "SLL", "ZWL", "ANG", "XAU", "XDR", "XTS", "XXX"] {
            #expect(ISO4217.exponent(of: code) == nil, "\(code)")
            #expect(!ISO4217.isActive(code), "\(code)")
        }
        #expect(try RequestValidation.currency("USD") == "USD")
        for code in ["QQQ", "XYZ", "usd", ""] {
            let error = try #require(throws: RPCError.self) { try RequestValidation.currency(code, field: "rows[3].currency") }
            #expect(error.code == .invalidArgument)
            #expect(error.fieldViolations.map(\.field) == ["rows[3].currency"])
        }
        let lower = try #require(throws: RPCError.self) { try RequestValidation.currency("usd") }
        #expect(lower.message.contains("upper case: USD"), "\(lower.message)")
    }
}
