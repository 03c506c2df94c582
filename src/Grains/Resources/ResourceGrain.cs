using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Webhooks;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Resources;

/// <inheritdoc cref="IResourceGrain"/>
/// <remarks>
/// State lives in the <c>resources</c> row rather than in Orleans' grain storage: the row is both the document and
/// its query columns, so one statement stores a change and makes it visible to lists, and nothing can drift apart.
/// </remarks>
public sealed class ResourceGrain(ResourceStore store, ResourceWritePolicy policy, ApiClock clock) : Grain, IResourceGrain
{
    private ResourceView? _resource;

    /// <summary>
    /// The resource, loaded on first use. "Not found" is never kept: the id's row may be created at any time (by the
    /// creator worker, which needs no activation of this grain), so a missing row is looked up again on every call,
    /// and the activation is dropped once idle.
    /// </summary>
    private async Task<ResourceView?> LoadedAsync()
    {
        if (_resource is null)
        {
            if (await store.LoadAsync(this.GetPrimaryKeyString()) is { } loaded)
            {
                _resource = Held(loaded);
            }
            else
            {
                DeactivateOnIdle();
            }
        }

        return _resource;
    }

    public async Task<ResourceView?> GetAsync(string ownerId)
    {
        await LoadedAsync();
        return Visible(ownerId);
    }

    public async Task<ResourceWriteOutcome> UpdateAsync(string ownerId, ResourcePatch patch, ResourcePrecondition precondition)
    {
        await LoadedAsync();
        if (Visible(ownerId) is not { } current)
        {
            return ResourceWriteOutcome.Of(ResourceWriteStatus.NotFound);
        }

        if (await RefusedAsync(current, precondition) is { } refused)
        {
            return refused;
        }

        var changed = current with
        {
            Name = patch.Name ?? current.Name,
            Description = patch.ClearDescription ? null : patch.Description ?? current.Description,
            Type = patch.Type ?? current.Type,
            Status = patch.Status ?? current.Status,
            Metadata = patch.MetadataPatch is { } metadata
                ? patch.ReplaceMetadata ? Replaced(current.Metadata, metadata) : Merged(current.Metadata, metadata)
                : current.Metadata,
        };
        if (changed == current)
        {
            // Nothing to change: no write, no new version, so a repeated PATCH or PUT is idempotent.
            return new ResourceWriteOutcome(ResourceWriteStatus.Done, current);
        }

        var next = changed with { UpdatedAt = DbTime.Truncate(clock.UtcNow), Version = current.Version + 1 };
        for (var attempt = 0; ; attempt++)
        {
            // The rules of the resulting type; after a "type changed" answer, as the type's row now has them.
            var typeGrain = GrainFactory.GetGrain<IResourceTypeGrain>(ResourceTypeRules.Key(ownerId, next.Type));
            var type = attempt == 0 ? await typeGrain.GetAsync() : await typeGrain.ReloadAsync();
            var (refusal, guard) = policy.Check(next, type);
            if (refusal is not null)
            {
                return refusal;
            }

            var outcome = await store.UpdateAsync(next, current.Version, EventBodies.ForResource(WebhookEventTypes.ResourceUpdated, next, next.UpdatedAt), guard);
            if (outcome == UpdateOutcome.Updated)
            {
                break;
            }

            if (outcome == UpdateOutcome.VersionMoved)
            {
                MovedUnderneath();
            }

            if (attempt == 3)
            {
                throw new InvalidOperationException($"The type '{next.Type}' of resource {current.Id} kept changing while it was written.");
            }
        }

        _resource = Held(next);
        return new ResourceWriteOutcome(ResourceWriteStatus.Done, _resource);
    }

    public async Task<ResourceWriteOutcome> DeleteAsync(string ownerId, ResourcePrecondition precondition)
    {
        await LoadedAsync();
        if (Visible(ownerId) is not { } current)
        {
            return ResourceWriteOutcome.Of(ResourceWriteStatus.NotFound);
        }

        if (await RefusedAsync(current, precondition) is { } refused)
        {
            return refused;
        }

        await WriteAsync(() => store.DeleteAsync(current.Id, current.Version,
            EventBodies.ForResource(WebhookEventTypes.ResourceDeleted, current, DbTime.Truncate(clock.UtcNow))));
        _resource = null;
        DeactivateOnIdle();
        return new ResourceWriteOutcome(ResourceWriteStatus.Done, current);
    }

    /// <summary>
    /// If-Match as the resource's type (or the configuration) asks: 428 without the header where it is required, 412
    /// when it names another version.
    /// </summary>
    private async Task<ResourceWriteOutcome?> RefusedAsync(ResourceView current, ResourcePrecondition precondition)
    {
        if (!precondition.IfMatchSent)
        {
            if (policy.Options.RequireIfMatch)
            {
                return new ResourceWriteOutcome(ResourceWriteStatus.PreconditionRequired, null,
                    Detail: "This API requires If-Match on every PUT, PATCH and DELETE of a resource: send the ETag you last read.");
            }

            var type = await GrainFactory.GetGrain<IResourceTypeGrain>(ResourceTypeRules.Key(current.OwnerId, current.Type)).GetAsync();
            if (type?.RequireIfMatch == true)
            {
                return new ResourceWriteOutcome(ResourceWriteStatus.PreconditionRequired, null,
                    Detail: $"Resources of type '{type.Name}' require If-Match on PUT, PATCH and DELETE: send the ETag you last read.");
            }
        }

        return precondition.Admits(current.Version) ? null : new ResourceWriteOutcome(ResourceWriteStatus.PreconditionFailed, current);
    }

    /// <summary>The new metadata; the current text itself when it is the same object (whitespace aside).</summary>
    private static string Replaced(string current, string replacement) =>
        System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(current), System.Text.Json.Nodes.JsonNode.Parse(replacement))
            ? current
            : replacement;

    /// <summary>The merged metadata; the current text itself when the patch changes no value (whitespace aside).</summary>
    private static string Merged(string current, string patch)
    {
        var merged = JsonMergePatch.ApplyToObject(current, patch);
        return System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(current), System.Text.Json.Nodes.JsonNode.Parse(merged))
            ? current
            : merged;
    }

    /// <summary>
    /// The resource as the activation keeps it, for as long as it lives: the owner, type and status (values many
    /// resources share) as the silo's one instance of each (<see cref="SharedStrings"/>), not a copy per activation.
    /// </summary>
    private static ResourceView Held(ResourceView r) =>
        r with { OwnerId = SharedStrings.Of(r.OwnerId), Type = SharedStrings.Of(r.Type), Status = SharedStrings.Of(r.Status) };

    private ResourceView? Visible(string ownerId) => _resource?.OwnerId == ownerId ? _resource : null;

    /// <summary>
    /// A versioned write that matched no row means the database moved under this activation (a duplicate activation
    /// during a cluster split). Fail the call and drop the activation so the next one reloads the truth.
    /// </summary>
    private async Task WriteAsync(Func<Task<bool>> write)
    {
        if (!await write())
        {
            MovedUnderneath();
        }
    }

    private void MovedUnderneath()
    {
        DeactivateOnIdle();
        throw new InvalidOperationException($"Resource {this.GetPrimaryKeyString()} changed in storage outside this activation.");
    }
}
