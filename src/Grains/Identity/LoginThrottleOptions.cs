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
