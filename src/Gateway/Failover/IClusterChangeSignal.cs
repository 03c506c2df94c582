namespace ApiPlatform.Gateway.Failover;

/// <summary>
/// Tells the gateway when this process's view of cluster membership has moved on (a silo declared dead, one joined):
/// after that, grain calls are routed by the new view and a failed read is worth one retry.
/// </summary>
public interface IClusterChangeSignal
{
    /// <summary>The current membership version (opaque; a larger one is a later view).</summary>
    long Version { get; }

    /// <summary>
    /// Completes with true once the view is later than <paramref name="seen"/>, or with false after
    /// <paramref name="timeout"/>.
    /// </summary>
    Task<bool> WaitForChangeAsync(long seen, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>
/// For a process that sees no membership table of its own (the gateway-only role, an Orleans client): waits one fixed
/// second, time for the silos' gateways to be told of the change, and reports a change.
/// </summary>
public sealed class FixedDelayClusterChangeSignal : IClusterChangeSignal
{
    public static readonly TimeSpan Delay = TimeSpan.FromSeconds(1);

    public long Version => 0;

    public async Task<bool> WaitForChangeAsync(long seen, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await Task.Delay(timeout < Delay ? timeout : Delay, cancellationToken);
        return timeout >= Delay;
    }
}
