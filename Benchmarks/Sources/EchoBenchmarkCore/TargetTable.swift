/// The PASS/FAIL list of the project's targets.
public enum TargetTable {
    public static func make(_ outcomes: [TargetOutcome]) -> TextTable {
        var table = TextTable(headers: ["RPCKit target", "verdict", "measured"], leftAlignedColumns: [0, 1, 2])
        for outcome in outcomes {
            table.append([outcome.requirement, outcome.verdict.rawValue, outcome.measured])
        }
        return table
    }
}
