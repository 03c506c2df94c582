using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Idempotency;

/// <summary>Idempotency-Key settings (configuration section <c>Idempotency</c>).</summary>
public sealed class IdempotencyOptions
{
    public const string Section = "Idempotency";

    /// <summary>How long a key's first response is replayed. The contract asks for at least 24 hours.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long a retry waits for the first request with its key before answering 409.</summary>
    public TimeSpan WaitForFirst { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often each silo deletes expired records.</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Checks <see cref="IdempotencyOptions"/> at start-up.</summary>
public sealed class IdempotencyOptionsValidator : IValidateOptions<IdempotencyOptions>
{
    public ValidateOptionsResult Validate(string? name, IdempotencyOptions o) =>
        o.Retention > TimeSpan.Zero && o.WaitForFirst >= TimeSpan.Zero && o.PurgeInterval > TimeSpan.Zero
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Idempotency: Retention and PurgeInterval must be positive, WaitForFirst not negative.");
}
