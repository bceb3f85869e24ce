/// Makes the jobs of a run: a template that names no data field is encoded once, ahead of the run; one that names
/// `{{fields}}` is filled in and encoded for each request, from the row of the user (or request) that sends it.
struct RequestFactory: Sendable {
    /// Every template's encoding; for one with fields, its unfilled text (never sent).
    let encoded: [EncodedRequest]
    private let templates: [RequestTemplate]
    private let dynamic: [Bool]
    private let target: LoadTarget
    private let data: LoadData?

    init(templates: [RequestTemplate], target: LoadTarget, data: LoadData?) {
        self.templates = templates
        self.target = target
        self.data = data
        encoded = templates.map { EncodedRequest($0, target: target) }
        dynamic = templates.map { data != nil && !Placeholders.fields(in: $0).isEmpty }
    }

    /// How many users' rows the data has (1 without data).
    var rowCount: Int { data?.rows.count ?? 1 }

    /// The job for template `template`, due at `intended`, sent by the user of data row `row`.
    func job(template: Int, intended: ContinuousClock.Instant, row: Int, random: inout SplitMix64) -> Job {
        guard dynamic[template], let data else { return Job(template: template, intended: intended) }
        func fill(_ text: String) -> String {
            var result = ""
            for piece in Placeholders.pieces(text) {
                switch piece {
                case .literal(let literal): result += literal
                case .field(let name): result += data.value(name, row: row, random: &random)
                }
            }
            return result
        }
        var filled = templates[template]
        filled.target = fill(filled.target)
        filled.headers = filled.headers.map { .init($0.name, fill($0.value)) }
        filled.body = filled.body.map(fill)
        return Job(template: template, intended: intended, request: EncodedRequest(filled, target: target))
    }
}
