using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Resources;

/// <inheritdoc cref="IResourceTypeGrain"/>
public sealed class ResourceTypeGrain(ResourceTypeStore store, IOptions<ResourceOptions> options, ApiClock clock) : Grain, IResourceTypeGrain
{
    private bool _loaded;
    private ResourceTypeView? _type;

    private string OwnerId => this.GetPrimaryKeyString()[..this.GetPrimaryKeyString().IndexOf('/', StringComparison.Ordinal)];

    private string Name => this.GetPrimaryKeyString()[(this.GetPrimaryKeyString().IndexOf('/', StringComparison.Ordinal) + 1)..];

    // Read-only calls interleave with each other (every write of a resource of this type asks), never with a change.
    [ReadOnly]
    public async Task<ResourceTypeView?> GetAsync()
    {
        if (!_loaded)
        {
            await ReloadAsync();
        }

        return _type;
    }

    public async Task<ResourceTypeView?> ReloadAsync()
    {
        _type = await store.LoadAsync(OwnerId, Name);
        _loaded = true;
        return _type;
    }

    public async Task<ResourceTypeOutcome> CreateAsync(ResourceTypeDraft draft, long maxTypes)
    {
        if (await GetAsync() is { } existing)
        {
            return new ResourceTypeOutcome(ResourceTypeStatus.AlreadyExists, existing);
        }

        if (Check(draft.Schema, draft.MaxBytes) is { } errors)
        {
            return new ResourceTypeOutcome(ResourceTypeStatus.Invalid, Errors: errors);
        }

        var now = Now();
        var gen = draft.Indexes.Count > 0 ? 1 : 0;
        var indexes = draft.Indexes.Select((spec, slot) => new IndexedField(spec.Field, spec.Type, slot, gen)).ToList();
        var row = new ResourceTypeView(OwnerId, Name, draft.Schema, draft.MaxBytes, indexes, draft.RequireIfMatch, gen, 0, now, now, 1);
        var (outcome, stored) = await store.InsertAsync(row, maxTypes);
        switch (outcome)
        {
            case TypeInsertOutcome.Inserted:
                _type = stored;
                WakeBuilderIfBuilding();
                return new ResourceTypeOutcome(ResourceTypeStatus.Done, stored);
            case TypeInsertOutcome.AlreadyExists:
                return new ResourceTypeOutcome(ResourceTypeStatus.AlreadyExists, await ReloadAsync());
            default:
                return new ResourceTypeOutcome(ResourceTypeStatus.PlanLimitReached);
        }
    }

    public async Task<ResourceTypeOutcome> UpdateAsync(ResourceTypePatch patch)
    {
        if (await GetAsync() is not { } current)
        {
            return new ResourceTypeOutcome(ResourceTypeStatus.NotFound);
        }

        var schema = patch.SetSchema ? patch.Schema : current.Schema;
        var maxBytes = patch.SetMaxBytes ? patch.MaxBytes : current.MaxBytes;
        if (Check(patch.SetSchema ? schema : null, patch.SetMaxBytes ? maxBytes : null) is { } errors)
        {
            return new ResourceTypeOutcome(ResourceTypeStatus.Invalid, Errors: errors);
        }

        var (indexes, gen) = patch.Indexes is { } specs ? Reindexed(current, specs) : (current.Indexes, current.IndexGen);
        var next = current with
        {
            Schema = schema,
            MaxBytes = maxBytes,
            Indexes = indexes,
            IndexGen = gen,
            RequireIfMatch = patch.RequireIfMatch ?? current.RequireIfMatch,
        };
        if (next.Schema == current.Schema && next.MaxBytes == current.MaxBytes && next.RequireIfMatch == current.RequireIfMatch && gen == current.IndexGen)
        {
            return new ResourceTypeOutcome(ResourceTypeStatus.Done, current); // nothing changes: no new version
        }

        next = next with { UpdatedAt = Now(), Version = current.Version + 1 };
        var stored = await store.UpdateAsync(next, current.Version);
        if (stored is null)
        {
            // Only this grain changes the declaration: its row moved, so another activation wrote it (a cluster split).
            DeactivateOnIdle();
            throw new InvalidOperationException($"Resource type {this.GetPrimaryKeyString()} changed in storage outside this activation.");
        }

        _type = stored;
        WakeBuilderIfBuilding();
        return new ResourceTypeOutcome(ResourceTypeStatus.Done, stored);
    }

    public async Task<ResourceTypeOutcome> DeleteAsync()
    {
        if (await GetAsync() is not { } current)
        {
            return new ResourceTypeOutcome(ResourceTypeStatus.NotFound);
        }

        var (deleted, inUse) = await store.DeleteAsync(OwnerId, Name);
        if (inUse > 0)
        {
            return new ResourceTypeOutcome(ResourceTypeStatus.InUse, current, InUse: inUse);
        }

        _type = null;
        return new ResourceTypeOutcome(deleted ? ResourceTypeStatus.Done : ResourceTypeStatus.NotFound, current);
    }

    /// <summary>
    /// The new index list: a field kept with the same value type keeps its slot and generation (its values stay valid
    /// throughout); a new or retyped field takes a free slot in a new generation, built before it can be queried. Any
    /// change starts a new generation, so that re-indexing also clears the slots of dropped fields.
    /// </summary>
    private static (IReadOnlyList<IndexedField> Indexes, long Gen) Reindexed(ResourceTypeView current, IReadOnlyList<IndexSpec> specs)
    {
        var kept = specs
            .Select(s => current.Indexes.FirstOrDefault(f => f.Field == s.Field && f.Type == s.Type))
            .ToList();
        var unchanged = specs.Count == current.Indexes.Count && kept.All(k => k is not null);
        if (unchanged)
        {
            return (current.Indexes, current.IndexGen);
        }

        var gen = current.IndexGen + 1;
        var used = kept.Where(k => k is not null).Select(k => k!.Slot).ToHashSet();
        var free = new Queue<int>(Enumerable.Range(0, ResourceTypeRules.MaxIndexes).Where(s => !used.Contains(s)));
        var indexes = specs.Select((s, i) => kept[i] ?? new IndexedField(s.Field, s.Type, free.Dequeue(), gen)).ToList();
        return (indexes, gen);
    }

    /// <summary>The schema's problems (when one is being set) and a cap beyond what the configuration allows.</summary>
    private IReadOnlyDictionary<string, string[]>? Check(string? schema, int? maxBytes)
    {
        var errors = new Dictionary<string, string[]>();
        if (schema is not null && ResourceSchemas.Check(schema) is { } problems)
        {
            foreach (var (field, messages) in problems)
            {
                errors[field] = messages;
            }
        }

        var limit = options.Value.MaxDocumentBytesLimit;
        if (maxBytes is { } cap && (cap < ResourceOptionsValidator.MinDocumentBytes || cap > limit))
        {
            errors["max_bytes"] = [$"must be from {ResourceOptionsValidator.MinDocumentBytes} to {limit}"];
        }

        return errors.Count == 0 ? null : errors;
    }

    private void WakeBuilderIfBuilding()
    {
        if (_type is { } type && type.BuiltGen < type.IndexGen)
        {
            ServiceProvider.GetService<ResourceIndexSignal>()?.Set();
        }
    }

    private DateTimeOffset Now() => DbTime.Truncate(clock.UtcNow);
}
