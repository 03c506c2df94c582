using Microsoft.Extensions.Logging;

namespace ApiPlatform.Grains.Storage;

/// <summary>
/// The row a grain keeps in a queryable table beside its own state (a key's <c>api_keys</c> row, a user's
/// <c>users_directory</c> row). The row is written after the state, so a crash between the two leaves it behind, and
/// each activation writes it again.
/// </summary>
/// <remarks>
/// That rewrite repairs; it answers nothing the grain is asked. So it runs beside the activation's first calls rather
/// than before them: a key's first verification on a silo, the cold path of every request of a tenant not seen for a
/// while, does not wait for two writes it has no use for. Every later write of the row waits for the rewrite first, so
/// rows land in the order the grain decided them and an activation's older view can never overwrite a newer one. A
/// rewrite that fails is logged: the grain's next write of the row, or its next activation, writes it whole (awaited,
/// the failure used to fail the activation and the call that caused it). Not thread-safe: one grain's turns use it.
/// </remarks>
public sealed class RowRepair(ILogger logger)
{
    private Task _pending = Task.CompletedTask;

    /// <summary>
    /// From <c>OnActivateAsync</c>: starts the rewrite of the row when the grain has one (from the grain's context, so it
    /// runs between its turns) and returns at once.
    /// </summary>
    public Task Start(bool exists, Func<Task> write, string grainId)
    {
        if (exists)
        {
            _pending = RepairAsync(write, grainId);
        }

        return Task.CompletedTask;
    }

    /// <summary>Runs <paramref name="next"/> once the activation's rewrite has finished: a write of the row, or the deactivation.</summary>
    public async Task AfterAsync(Func<Task> next)
    {
        await _pending;
        await next();
    }

    private async Task RepairAsync(Func<Task> write, string grainId)
    {
        try
        {
            await write();
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Rewriting the row of {GrainId} on activation failed; its next write or activation writes it again", grainId);
        }
    }
}
