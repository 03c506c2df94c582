namespace ApiPlatform.Grains.Identity;

/// <summary>
/// Counts login attempts for one normalized email (key: the email), whether or not an account exists, so that
/// lockout reveals nothing about which emails are registered. In memory: a silo restart forgives.
/// </summary>
[Alias("ILoginThrottleGrain")]
public interface ILoginThrottleGrain : IGrainWithStringKey
{
    /// <summary>How long the caller must wait before trying again, or null when a login may be attempted.</summary>
    [Alias("GetLockoutAsync")]
    Task<TimeSpan?> GetLockoutAsync();

    /// <summary>
    /// Admits one login attempt, or refuses it with the time left on a lockout. An admitted attempt counts as a failure
    /// from this moment until <see cref="ResetAsync"/> says it succeeded, so concurrent guesses cannot all pass a check
    /// made before any of them was counted: the attempt that reaches the limit locks the email for every later one.
    /// </summary>
    [Alias("BeginAttemptAsync")]
    Task<TimeSpan?> BeginAttemptAsync();

    /// <summary>Forgets the failures (and the lockout) after a successful login.</summary>
    [Alias("ResetAsync")]
    Task ResetAsync();
}
