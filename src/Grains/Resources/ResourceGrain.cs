using ApiPlatform.Grains.Webhooks;

namespace ApiPlatform.Grains.Resources;

/// <inheritdoc cref="IResourceGrain"/>
/// <remarks>
/// State lives in the <c>resources</c> row rather than in Orleans' grain storage: the row is both the document and
/// its query columns, so one statement stores a change and makes it visible to lists, and nothing can drift apart.
/// </remarks>
public sealed class ResourceGrain(ResourceStore store, ApiClock clock) : Grain, IResourceGrain
{
    private ResourceView? _resource;

    // Whether _resource reflects the database. A create needs no load first (its insert finds an existing row
    // itself), which saves a round trip on every create: activations of fresh ids are the common case.
    private bool _loaded;

    private async Task<ResourceView?> LoadedAsync()
    {
        if (!_loaded)
        {
            _resource = await store.LoadAsync(this.GetPrimaryKeyString());
            _loaded = true;
        }

        return _resource;
    }

    public async Task<ResourceWriteResult> CreateAsync(ResourceDraft draft, long maxResources)
    {
        if (_loaded && _resource is not null)
        {
            return new ResourceWriteResult(ResourceWriteStatus.AlreadyExists, _resource.OwnerId == draft.OwnerId ? _resource : null);
        }

        var now = Truncate(clock.UtcNow);
        var row = new ResourceView(this.GetPrimaryKeyString(), draft.OwnerId, draft.Name, draft.Description, draft.Type, draft.Status,
            draft.Metadata, now, now, 1);
        switch (await store.InsertAsync(row, maxResources, WebhookEvents.ForResource(WebhookEventTypes.ResourceCreated, row, now)))
        {
            case InsertOutcome.CapReached:
                DeactivateOnIdle();
                return ResourceWriteResult.Of(ResourceWriteStatus.PlanLimitReached);
            case InsertOutcome.AlreadyExists:
                // Another activation wrote it (possible only across a cluster split); trust the database.
                _resource = await store.LoadAsync(row.Id);
                _loaded = true;
                return new ResourceWriteResult(ResourceWriteStatus.AlreadyExists, _resource?.OwnerId == draft.OwnerId ? _resource : null);
        }

        _resource = row;
        _loaded = true;
        return new ResourceWriteResult(ResourceWriteStatus.Done, row);
    }

    public async Task<ResourceView?> GetAsync(string ownerId)
    {
        await LoadedAsync();
        return Visible(ownerId);
    }

    public async Task<ResourceWriteResult> UpdateAsync(string ownerId, ResourcePatch patch, long? expectedVersion)
    {
        await LoadedAsync();
        if (Visible(ownerId) is not { } current)
        {
            return ResourceWriteResult.Of(ResourceWriteStatus.NotFound);
        }

        if (expectedVersion is { } expected && expected != current.Version)
        {
            return new ResourceWriteResult(ResourceWriteStatus.PreconditionFailed, current);
        }

        var changed = current with
        {
            Name = patch.Name ?? current.Name,
            Description = patch.ClearDescription ? null : patch.Description ?? current.Description,
            Type = patch.Type ?? current.Type,
            Status = patch.Status ?? current.Status,
            Metadata = patch.MetadataPatch is { } mergePatch ? Merged(current.Metadata, mergePatch) : current.Metadata,
        };
        if (changed == current)
        {
            // Nothing to change: no write, no new version, so a repeated PATCH is idempotent.
            return new ResourceWriteResult(ResourceWriteStatus.Done, current);
        }

        var next = changed with { UpdatedAt = Truncate(clock.UtcNow), Version = current.Version + 1 };
        await WriteAsync(() => store.UpdateAsync(next, current.Version, WebhookEvents.ForResource(WebhookEventTypes.ResourceUpdated, next, next.UpdatedAt)));
        _resource = next;
        return new ResourceWriteResult(ResourceWriteStatus.Done, next);
    }

    public async Task<ResourceWriteResult> DeleteAsync(string ownerId, long? expectedVersion)
    {
        await LoadedAsync();
        if (Visible(ownerId) is not { } current)
        {
            return ResourceWriteResult.Of(ResourceWriteStatus.NotFound);
        }

        if (expectedVersion is { } expected && expected != current.Version)
        {
            return new ResourceWriteResult(ResourceWriteStatus.PreconditionFailed, current);
        }

        await WriteAsync(() => store.DeleteAsync(current.Id, current.Version,
            WebhookEvents.ForResource(WebhookEventTypes.ResourceDeleted, current, Truncate(clock.UtcNow))));
        _resource = null;
        DeactivateOnIdle();
        return new ResourceWriteResult(ResourceWriteStatus.Done, current);
    }

    /// <summary>The merged metadata; the current text itself when the patch changes no value (whitespace aside).</summary>
    private static string Merged(string current, string patch)
    {
        var merged = JsonMergePatch.ApplyToObject(current, patch);
        return System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(current), System.Text.Json.Nodes.JsonNode.Parse(merged))
            ? current
            : merged;
    }

    /// <summary>Wakes this silo's event relay: an event was committed. Without one (grain tests), the relay's poll finds it.</summary>

    private ResourceView? Visible(string ownerId) => _resource?.OwnerId == ownerId ? _resource : null;

    /// <summary>
    /// A versioned write that matched no row means the database moved under this activation (a duplicate activation
    /// during a cluster split). Fail the call and drop the activation so the next one reloads the truth.
    /// </summary>
    private async Task WriteAsync(Func<Task<bool>> write)
    {
        if (!await write())
        {
            DeactivateOnIdle();
            throw new InvalidOperationException($"Resource {this.GetPrimaryKeyString()} changed in storage outside this activation.");
        }
    }

    // Stored with microsecond precision; keep memory identical to what a reload would give.
    private static DateTimeOffset Truncate(DateTimeOffset value) => ResourceStore.FromMicros(ResourceStore.Micros(value));
}
