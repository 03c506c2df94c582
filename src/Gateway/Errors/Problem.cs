using System.Text.Json.Serialization;

namespace ApiPlatform.Gateway.Errors;

/// <summary>RFC 9457 problem details with the contract's extensions (<c>code</c>, <c>request_id</c>, <c>errors</c>).</summary>
public sealed record Problem(
    string Type,
    string Title,
    int Status,
    string Detail,
    string Code,
    string RequestId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string[]>? Errors = null)
{
    public const string ContentType = "application/problem+json; charset=utf-8";

    /// <summary>Problem types are URNs: stable identifiers that promise no web page.</summary>
    public static string TypeOf(string code) => "urn:api-platform:problem:" + code;

    public static Problem Create(int status, string code, string detail, string requestId, IReadOnlyDictionary<string, string[]>? errors = null) =>
        new(TypeOf(code), ProblemCodes.TitleOf(code), status, detail, code, requestId, errors);
}
