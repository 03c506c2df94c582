using ApiPlatform.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace ApiPlatform.Grains.Webhooks;

/// <summary>One attempt's result as it is written: fenced by the attempt count it started from.</summary>
public sealed record AttemptRecord(string DeliveryId, int AttemptsBefore, string Status, int? StatusCode, string? Error,
    DateTimeOffset? NextAttemptAt);

/// <summary>
/// The silo's writer of attempt results: the batches of every endpoint on the silo that finish while a write runs go
/// together in the next statement (<see cref="GroupCommit{TItem, TResult}"/>), so many endpoints with an attempt or
/// two each cost one fenced statement, not one each.
/// </summary>
public sealed class AttemptWriter
{
    private readonly GroupCommit<IReadOnlyList<AttemptRecord>, HashSet<string>> _group;

    public AttemptWriter(WebhookStore store, ApiClock clock) =>
        _group = new(async batches =>
        {
            var recorded = await store.CompleteAttemptsAsync([.. batches.SelectMany(b => b)], DbTime.Truncate(clock.UtcNow));
            return [.. batches.Select(_ => recorded)];
        }, maxGroup: 64);

    /// <summary>Writes the results, fenced; answers the ids of the deliveries whose result was recorded.</summary>
    public Task<HashSet<string>> WriteAsync(IReadOnlyList<AttemptRecord> records) => _group.AddAsync(records);
}

/// <summary>
/// An endpoint activation's attempt results, group-committed (<see cref="GroupCommit{TItem, TResult}"/>): a result
/// that finishes while a batch is being written and reported waits and goes in the next batch with every other result
/// that finished meanwhile, so an endpoint hands the silo's <see cref="AttemptWriter"/> one batch of finished attempts
/// at a time and reports each batch to its grain in one message. Nothing waits when nothing is being written: a lone
/// result is written at once. Runs off the grain's scheduler, like the attempts.
/// </summary>
internal sealed partial class AttemptRecorder
{
    private readonly GroupCommit<(AttemptRecord Record, long Token), bool> _batches;

    public AttemptRecorder(AttemptWriter writer, IWebhookGrain grain, ILogger logger) =>
        _batches = new(batch => WriteAndReportAsync(writer, grain, logger, batch), maxGroup: int.MaxValue);

    public void Add(AttemptRecord record, long token) => _ = _batches.AddAsync((record, token));

    /// <summary>Never throws: a failed write is reported as not recorded (the grain takes the schedule from the database again).</summary>
    private static async Task<IReadOnlyList<bool>> WriteAndReportAsync(AttemptWriter writer, IWebhookGrain grain, ILogger logger,
        IReadOnlyList<(AttemptRecord Record, long Token)> batch)
    {
        var recorded = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            recorded = await writer.WriteAsync([.. batch.Select(b => b.Record)]);
        }
        catch (Exception e)
        {
            LogRecordFailed(logger, e, batch.Count);
        }

        try
        {
            await grain.AttemptsDoneAsync(batch
                .Select(b => new AttemptOutcome(b.Record.DeliveryId, b.Token, b.Record.StatusCode, b.Record.Error, recorded.Contains(b.Record.DeliveryId)))
                .ToList());
        }
        catch (Exception e)
        {
            LogReportFailed(logger, e, batch.Count);
        }

        return [.. batch.Select(_ => true)];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording {Count} webhook attempt result(s) failed")]
    private static partial void LogRecordFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting {Count} webhook attempt result(s) failed; the sweep picks them up")]
    private static partial void LogReportFailed(ILogger logger, Exception exception, int count);
}
