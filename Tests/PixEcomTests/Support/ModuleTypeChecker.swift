import Foundation

/// Compiles one module of the package again, with some of its sources replaced or added, against
/// the modules `swift build` already built: `swiftc` with the arguments SwiftPM used for that
/// module (from its build manifest, `.build/debug.yaml`), type-checking only, or emitting only the
/// module's interface. Nothing is compiled to objects or linked, so showing that a service does not
/// compile without a handler takes seconds, not a rebuild of the package.
struct ModuleTypeChecker {
    /// `.build/debug.yaml`, from the build that made `TestEnvironment.binDirectory`.
    let manifest: String

    init() throws {
        // binDirectory is `.build/<triple>/debug` (or the `.build/debug` link to it).
        let bin = TestEnvironment.binDirectory.resolvingSymlinksInPath()
        let url = bin.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("\(bin.lastPathComponent).yaml")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw TestSetupError("no build manifest at \(url.path): build the package with swift build first")
        }
        self.manifest = text
    }

    /// The compiler and arguments SwiftPM compiled `module` with, and its sources.
    func arguments(of module: String) throws -> (swiftc: String, flags: [String], sources: [String]) {
        let lines = self.manifest.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("  \"C.\(module)-") && $0.hasSuffix("-debug.module\":") }),
            let line = lines[start...].prefix(12).first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("args: ") }),
            let data = line.split(separator: "args: ", maxSplits: 1).last.map({ Data($0.utf8) }),
            let arguments = try JSONSerialization.jsonObject(with: data) as? [String]
        else {
            throw TestSetupError("the build manifest has no compile command for \(module)")
        }
        // Dropped: what writes objects, dependencies, indexes and module files, and the driver's
        // incremental and batch modes.
        let dropped: Set<String> = [
            "-emit-dependencies", "-emit-module", "-incremental", "-c", "-enable-batch-mode", "-serialize-diagnostics",
            "-parseable-output", "-emit-objc-header",
        ]
        let droppedWithValue: Set<String> = ["-emit-module-path", "-output-file-map", "-index-store-path", "-emit-objc-header-path"]
        var flags: [String] = []
        var sources: [String] = []
        var index = arguments.index(after: arguments.startIndex)  // past swiftc itself
        while index < arguments.endIndex {
            let argument = arguments[index]
            if droppedWithValue.contains(argument) {
                index += 2
                continue
            }
            if argument.hasPrefix("@") {
                sources = try String(contentsOfFile: String(argument.dropFirst()), encoding: .utf8)
                    .split(separator: "\n").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'\" ")) }
            } else if !dropped.contains(argument) {
                flags.append(argument)
            }
            index += 1
        }
        return (arguments[0], flags, sources)
    }

    /// Type-checks `module` with the sources of the same file name taken from `replacements`
    /// instead, `additions` added, and the modules in `modules` found before the built ones; with
    /// `emitModuleTo`, writes the module's `.swiftmodule` into that folder too.
    func check(
        _ module: String, replacements: [URL] = [], additions: [URL] = [], modules: URL? = nil, emitModuleTo output: URL? = nil
    ) async throws -> CClient.Output {
        let (swiftc, flags, original) = try self.arguments(of: module)
        let byName = Dictionary(replacements.map { ($0.lastPathComponent, $0.path) }, uniquingKeysWith: { first, _ in first })
        let sources = original.map { byName[URL(fileURLWithPath: $0).lastPathComponent] ?? $0 } + additions.map(\.path)
        var arguments = modules.map { ["-I", $0.path] } ?? []
        arguments += flags + ["-wmo"]
        if let output {
            arguments += ["-emit-module", "-emit-module-path", output.appendingPathComponent("\(module).swiftmodule").path]
        } else {
            arguments.append("-typecheck")
        }
        return try await CClient.runProgram(URL(fileURLWithPath: swiftc), arguments + sources, timeout: .seconds(900))
    }
}
