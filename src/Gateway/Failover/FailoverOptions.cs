using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Failover;

/// <summary>
/// How the gateway keeps serving while a silo that holds some of a request's grains has stopped answering and
/// membership has not declared it dead yet (configuration section <c>Gateway:Failover</c>; docs/operations.md,
/// "Failure model").
/// </summary>
public sealed class FailoverOptions
{
    public const string Section = "Gateway:Failover";

    /// <summary>
    /// The three fallbacks below (stale credentials, the local rate-limit budget, the read retry). Off only to measure
    /// what they buy (bench/run-failover.sh); every other refusal stays a 503 either way.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// How long after its last confirmation a silo's cached answer about an API key or account (valid, owner, plan,
    /// scopes) still admits requests while the grain that owns it is unreachable. A change to the key or account goes
    /// through that grain, which makes every silo forget the answer before it replies; an unreachable grain cannot
    /// change, so the only risk is an answer its grain could not retract because it died: bounded by this age.
    /// </summary>
    public TimeSpan StaleCredentialAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The share of a credential's limit one silo may admit per window on its own while the credential's rate-limit
    /// grain is unreachable (at least one request). The bound it gives: during an outage of the grain, each gateway
    /// process admits at most <c>max(1, floor(Limit × share))</c> requests per window without the grain.
    /// </summary>
    public double RateLimitFallbackShare { get; set; } = 0.1;

    /// <summary>
    /// How long a GET (or HEAD) that failed because a silo was unreachable waits for cluster membership to change
    /// (the silo declared dead, its grains and directory share taken over) before its one retry. Past it the request
    /// is refused with 503.
    /// </summary>
    public TimeSpan ReadRetryWait { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Checks <see cref="FailoverOptions"/> at start-up.</summary>
public sealed class FailoverOptionsValidator : IValidateOptions<FailoverOptions>
{
    public ValidateOptionsResult Validate(string? name, FailoverOptions options) =>
        options.StaleCredentialAge < TimeSpan.Zero || options.StaleCredentialAge > TimeSpan.FromHours(1)
            ? ValidateOptionsResult.Fail("Gateway:Failover:StaleCredentialAge must be between 0 and 01:00:00.")
        : options.RateLimitFallbackShare is < 0 or > 1 || double.IsNaN(options.RateLimitFallbackShare)
            ? ValidateOptionsResult.Fail("Gateway:Failover:RateLimitFallbackShare must be between 0 and 1.")
        : options.ReadRetryWait < TimeSpan.Zero || options.ReadRetryWait > TimeSpan.FromMinutes(1)
            ? ValidateOptionsResult.Fail("Gateway:Failover:ReadRetryWait must be between 0 and 00:01:00.")
        : ValidateOptionsResult.Success;
}
