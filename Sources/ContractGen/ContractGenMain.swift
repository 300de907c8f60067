import Foundation
import PixEcomProtos
import SwiftProtobuf

/// Writes every PixEcom service's contract from the .proto files: method names and contracts, the
/// access table, the typed handler protocol and its registration, and the typed client.
///
///     ContractGen DESCRIPTOR_SET OUTPUT_DIR [--check]
///
/// DESCRIPTOR_SET is `protoc --include_imports --include_source_info --descriptor_set_out` over
/// Protos/ (scripts/generate-protos.sh makes it). With --check nothing is written: the exit status
/// is 1 when a file in OUTPUT_DIR differs from what would be written. A method without its
/// `(pixecom.options.v1.method)` options, or with inconsistent ones, fails with its name (2).
@main
struct ContractGenMain {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        let check = arguments.contains("--check")
        arguments.removeAll { $0 == "--check" }
        guard arguments.count == 2 else {
            self.fail("usage: ContractGen DESCRIPTOR_SET OUTPUT_DIR [--check]", status: 64)
        }
        let (input, output) = (arguments[0], URL(fileURLWithPath: arguments[1]))
        let files: [String: String]
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: input))
            var extensions = SimpleExtensionMap()
            extensions.formUnion(Pixecom_Options_V1_Options_Extensions)
            let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: data, extensions: extensions)
            let services = try ContractModel.services(in: set)
            var generated: [String: String] = ["ServiceContracts.swift": SwiftWriter.index(for: services)]
            for service in services {
                generated["Contracts+\(service.stem).swift"] = SwiftWriter.file(for: service)
            }
            files = generated
        } catch let error as ContractError {
            self.fail("the contracts in Protos/ are not complete:\n\(error)", status: 2)
        } catch {
            self.fail("cannot read \(input): \(error)", status: 1)
        }
        let existing = Set((try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []).filter { $0.hasSuffix(".swift") }
        var stale: [String] = existing.subtracting(files.keys).sorted()
        for (name, text) in files.sorted(by: { $0.key < $1.key }) {
            let url = output.appendingPathComponent(name)
            if (try? String(contentsOf: url, encoding: .utf8)) != text { stale.append(name) }
        }
        if check {
            guard stale.isEmpty else {
                self.fail(
                    "stale generated contracts in \(output.path): \(stale.sorted().joined(separator: ", ")) (run scripts/generate-protos.sh)",
                    status: 1)
            }
            print("generated contracts are current (\(files.count) files)")
            return
        }
        do {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            for name in existing.subtracting(files.keys) {
                try FileManager.default.removeItem(at: output.appendingPathComponent(name))
            }
            for (name, text) in files {
                try Data(text.utf8).write(to: output.appendingPathComponent(name), options: .atomic)
            }
        } catch {
            self.fail("cannot write \(output.path): \(error)", status: 1)
        }
        print("wrote \(files.count) contract files to \(output.path)")
    }

    private static func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data("ContractGen: \(message)\n".utf8))
        exit(status)
    }
}
