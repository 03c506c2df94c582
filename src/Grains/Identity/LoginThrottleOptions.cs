using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Identity;

/// <summary>Per-account login lockout (configuration section <c>Auth:Lockout</c>).</summary>
public sealed class LoginThrottleOptions
{
    public const string Section = "Auth:Lockout";

    /// <summary>Failed attempts within <see cref="Window"/> that lock the account.</summary>
    public int MaxFailures { get; set; } = 5;

    /// <summary>How far back failures are counted.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a locked account refuses logins, even with the right password.</summary>
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>Checks <see cref="LoginThrottleOptions"/> at start-up.</summary>
public sealed class LoginThrottleOptionsValidator : IValidateOptions<LoginThrottleOptions>
{
    public ValidateOptionsResult Validate(string? name, LoginThrottleOptions o) =>
        o.MaxFailures > 0 && o.Window > TimeSpan.Zero && o.LockoutDuration > TimeSpan.Zero
        && o.Window <= TimeSpan.FromHours(1) && o.LockoutDuration <= TimeSpan.FromHours(1)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                "Auth:Lockout needs MaxFailures > 0, and Window and LockoutDuration between zero and one hour (the throttle lives in memory).");
}
