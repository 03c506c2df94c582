using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Hosting;

/// <summary>Response shape settings (configuration section <c>Api</c>).</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>The contract's shapes: <c>{"data"}</c>, <c>{"data", "meta"}</c>, problem details.</summary>
    public const string StandardEnvelope = "standard";

    /// <summary>
    /// The XtraKit document's shape: every response wrapped as <c>{"status", "message", "data"}</c> (lists keep
    /// <c>meta</c> beside <c>data</c>), errors included.
    /// </summary>
    public const string StatusMessageDataEnvelope = "status-message-data";

    public string Envelope { get; set; } = StandardEnvelope;

    public bool WrapsResponses => Envelope == StatusMessageDataEnvelope;
}

/// <summary>Checks <see cref="ApiOptions"/> at start-up.</summary>
public sealed class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiOptions options) =>
        options.Envelope is ApiOptions.StandardEnvelope or ApiOptions.StatusMessageDataEnvelope
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Api:Envelope must be '{ApiOptions.StandardEnvelope}' or '{ApiOptions.StatusMessageDataEnvelope}'.");
}
