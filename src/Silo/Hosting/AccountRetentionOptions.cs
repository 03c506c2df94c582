using Microsoft.Extensions.Options;

namespace ApiPlatform.Silo.Hosting;

/// <summary>Account housekeeping (configuration section <c>Accounts</c>).</summary>
public sealed class AccountRetentionOptions
{
    public const string Section = "Accounts";

    /// <summary>How often each silo deletes what ended.</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long an ended or expired session, a used or expired mail token and an accepted, revoked or expired invitation
    /// are kept before they are deleted. Until then a reused refresh token of an ended session is still recognised as
    /// reuse (and logged), and an invitation still shows its outcome in its organization's list.
    /// </summary>
    public TimeSpan EndedRetention { get; set; } = TimeSpan.FromDays(1);
}

/// <summary>Checks <see cref="AccountRetentionOptions"/> at start-up.</summary>
public sealed class AccountRetentionOptionsValidator : IValidateOptions<AccountRetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, AccountRetentionOptions o) =>
        o.PurgeInterval > TimeSpan.Zero && o.EndedRetention >= TimeSpan.Zero
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Accounts: PurgeInterval must be positive and EndedRetention not negative.");
}
