namespace ApiPlatform.Grains.ApiKeys;

/// <summary>Persisted state of <see cref="ApiKeyRegistryGrain"/>: the owner's active keys only.</summary>
[GenerateSerializer]
public sealed class ApiKeyRegistryState
{
    /// <summary>Active (or just reserved) keys, oldest first.</summary>
    [Id(0)] public List<ApiKeyEntry> Keys { get; set; } = [];

    /// <summary>
    /// 0: written by a version that kept every key here, revoked ones included (flagged <see cref="ApiKeyEntry.Inactive"/>);
    /// 1: active keys only, with their expiry.
    /// </summary>
    [Id(1)] public int Version { get; set; }

    /// <summary>The owner was deleted: its keys are revoked and no key is made for it.</summary>
    [Id(2)] public bool Closed { get; set; }
}

/// <summary>One active key of an owner.</summary>
[GenerateSerializer]
public sealed class ApiKeyEntry
{
    [Id(0)] public string Id { get; set; } = "";
    // Only in state of version 0. Default false on purpose: serializers skip default values.
    [Id(1)] public bool Inactive { get; set; }
    [Id(2)] public DateTimeOffset AddedAt { get; set; }
    [Id(3)] public DateTimeOffset? ExpiresAt { get; set; }
}

/// <inheritdoc cref="IApiKeyRegistryGrain"/>
/// <remarks>
/// Creating a key is this grain's workflow: one activation per owner serializes creates, so the cap is exact; the
/// place is reserved (written) before the key's grain is created, and a place whose key never appeared is freed after
/// <see cref="PendingCreationLifetime"/>. Revoking is its workflow too, so a revoke always frees the place and reaches
/// the keys the revoked key made; a revoke that crashed halfway is finished by revoking again.
/// </remarks>
public sealed class ApiKeyRegistryGrain(
    [PersistentState("apikeys", GrainStorage.Main)] IPersistentState<ApiKeyRegistryState> state,
    ApiKeyStore rows,
    ApiClock clock) : Grain, IApiKeyRegistryGrain
{
    /// <summary>How long a reserved place may wait for its key to be created before it is presumed abandoned.</summary>
    public static readonly TimeSpan PendingCreationLifetime = TimeSpan.FromMinutes(2);

    private string OwnerId => this.GetPrimaryKeyString();

    private List<ApiKeyEntry> Keys => state.State.Keys;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Version == 0 && Keys.Count > 0)
        {
            await UpgradeAsync();
        }
    }

    /// <summary>
    /// Moves state of the version that kept every key here to active keys only. Revoked keys' rows are made first (the
    /// key's grain writes its row when it activates), so nothing disappears from the list.
    /// </summary>
    private async Task UpgradeAsync()
    {
        var existing = await rows.ExistingAsync(Keys.Select(k => k.Id).ToList());
        foreach (var entry in Keys.ToList())
        {
            var view = await GrainFactory.GetGrain<IApiKeyGrain>(entry.Id).GetAsync();
            if (view is null)
            {
                if (clock.UtcNow - entry.AddedAt >= PendingCreationLifetime)
                {
                    Keys.Remove(entry);
                }

                continue;
            }

            if (!existing.Contains(entry.Id))
            {
                await rows.UpsertAsync(view);
            }

            entry.ExpiresAt = view.ExpiresAt;
            if (entry.Inactive || view.Status == ApiKeyStatus.Revoked)
            {
                Keys.Remove(entry);
            }
        }

        state.State.Version = 1;
        await state.WriteStateAsync();
    }

    public async Task<ApiKeyCreateOutcome> CreateAsync(string keyId, NewApiKey request, int maxActive)
    {
        if (state.State.Closed)
        {
            return new ApiKeyCreateOutcome(ApiKeyCreateStatus.OwnerDeleted, null);
        }

        if (!Keys.Exists(k => k.Id == keyId))
        {
            await PruneAsync(maxActive);
            if (Keys.Count >= maxActive)
            {
                return new ApiKeyCreateOutcome(ApiKeyCreateStatus.PlanLimitReached, null);
            }

            Keys.Add(new ApiKeyEntry { Id = keyId, AddedAt = clock.UtcNow, ExpiresAt = request.ExpiresAt });
            state.State.Version = 1;
            await state.WriteStateAsync();
        }

        // Why a grain calls a grain here: the key's grain owns the key; this one owns the owner's count of them.
        var key = GrainFactory.GetGrain<IApiKeyGrain>(keyId);
        ApiKeyWithSecret? created;
        try
        {
            created = await key.CreateAsync(request);
        }
        catch
        {
            Keys.RemoveAll(k => k.Id == keyId);
            await state.WriteStateAsync();
            throw;
        }

        if (created is null)
        {
            // The id holds a key already: a retried create (its id derives from the Idempotency-Key) whose first answer
            // was lost. Nobody saw that secret, so the key gets a new one.
            var existing = await key.GetAsync();
            var rolled = existing?.OwnerId == OwnerId ? await key.RollAsync() : null;
            created = rolled?.Key ?? throw new InvalidOperationException($"Key id {keyId} is taken.");
        }

        return new ApiKeyCreateOutcome(ApiKeyCreateStatus.Created, created);
    }

    /// <summary>
    /// Drops places of keys that expired and, at the cap only (it asks each key), reservations whose key was never
    /// created.
    /// </summary>
    private async Task PruneAsync(int maxActive)
    {
        var now = clock.UtcNow;
        var changed = Keys.RemoveAll(k => k.ExpiresAt is { } e && now >= e) > 0;
        var stale = Keys.Count >= maxActive ? Keys.Where(k => now - k.AddedAt >= PendingCreationLifetime).ToList() : [];
        foreach (var entry in stale)
        {
            if (await GrainFactory.GetGrain<IApiKeyGrain>(entry.Id).GetAsync() is not { Status: ApiKeyStatus.Active })
            {
                Keys.Remove(entry);
                changed = true;
            }
        }

        if (changed)
        {
            await state.WriteStateAsync();
        }
    }

    public async Task<ApiKeyView?> RevokeAsync(string keyId)
    {
        var key = GrainFactory.GetGrain<IApiKeyGrain>(keyId);
        if (await key.GetAsync() is not { } view || view.OwnerId != OwnerId)
        {
            return null;
        }

        var revoked = await key.RevokeAsync();
        var pending = new Queue<string>(await rows.ActiveChildrenAsync(keyId));
        var done = new HashSet<string>(StringComparer.Ordinal) { keyId };
        while (pending.TryDequeue(out var childId))
        {
            if (!done.Add(childId))
            {
                continue;
            }

            // A key only ever makes keys of its own owner; the check keeps a bad row from reaching another owner's key.
            var child = GrainFactory.GetGrain<IApiKeyGrain>(childId);
            if (await child.GetAsync() is { } childView && childView.OwnerId == OwnerId)
            {
                await child.RevokeAsync();
                foreach (var grandchild in await rows.ActiveChildrenAsync(childId))
                {
                    pending.Enqueue(grandchild);
                }
            }
        }

        if (Keys.RemoveAll(k => done.Contains(k.Id)) > 0)
        {
            await state.WriteStateAsync();
        }

        return revoked;
    }

    public async Task CloseAsync()
    {
        if (!state.State.Closed)
        {
            // Closed first: a crash midway leaves a closed registry whose remaining keys the next close revokes.
            state.State.Closed = true;
            await state.WriteStateAsync();
        }

        if (Keys.Count == 0)
        {
            return;
        }

        foreach (var entry in Keys.ToList())
        {
            await GrainFactory.GetGrain<IApiKeyGrain>(entry.Id).RevokeAsync();
        }

        Keys.Clear();
        await state.WriteStateAsync();
    }

    public async Task ReopenAsync()
    {
        if (state.State.Closed)
        {
            state.State.Closed = false;
            await state.WriteStateAsync();
        }
        else
        {
            // A new owner's registry (the usual case) has nothing to keep in memory.
            DeactivateOnIdle();
        }
    }

    public Task<int> CountActiveAsync()
    {
        var now = clock.UtcNow;
        return Task.FromResult(Keys.Count(k => k.ExpiresAt is not { } e || now < e));
    }

    public Task<ApiKeyPage> ListAsync(int offset, int limit) => rows.ListAsync(OwnerId, clock.UtcNow, offset, limit);
}
