namespace ApiPlatform.Grains.Identity;

/// <summary>
/// Counts failed logins for one normalized email (key: the email), whether or not an account exists, so that
/// lockout reveals nothing about which emails are registered. In memory: a silo restart forgives.
/// </summary>
[Alias("ILoginThrottleGrain")]
public interface ILoginThrottleGrain : IGrainWithStringKey
{
    /// <summary>How long the caller must wait before trying again, or null when a login may be attempted.</summary>
    [Alias("GetLockoutAsync")]
    Task<TimeSpan?> GetLockoutAsync();

    /// <summary>Records a failed attempt and returns the lockout it caused, if any.</summary>
    [Alias("RecordFailureAsync")]
    Task<TimeSpan?> RecordFailureAsync();

    /// <summary>Forgets the failures after a successful login.</summary>
    [Alias("ResetAsync")]
    Task ResetAsync();
}
