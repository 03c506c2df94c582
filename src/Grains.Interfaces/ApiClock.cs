namespace ApiPlatform.Grains;

/// <summary>
/// The clock of the product's own rules (token and key expiry, lockouts, timestamps). It wraps a
/// <see cref="TimeProvider"/> of its own so tests can move product time without moving Orleans' internal timers,
/// which read the host's <see cref="TimeProvider"/>.
/// </summary>
public sealed class ApiClock(TimeProvider provider)
{
    public static ApiClock System { get; } = new(TimeProvider.System);

    public TimeProvider Provider { get; } = provider;

    public DateTimeOffset UtcNow => Provider.GetUtcNow();
}
