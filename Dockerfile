# The app as a container, e.g. a Hugging Face Docker Space (README: "Deploying on a Hugging Face
# Space"). `tests/test_startup.py` runs this file's CMD without Docker and opens a session on it.
FROM python:3.11-slim

# Spaces run the container as user 1000 and send traffic to port 7860.
RUN useradd -m -u 1000 user
USER user
ENV HOME=/home/user PATH=/home/user/.local/bin:$PATH PYTHONUNBUFFERED=1
WORKDIR /home/user/app

# The CPU build of torch (PyPI's Linux wheel would pull CUDA), then the pinned requirements.
COPY --chown=user requirements.txt .
RUN pip install --no-cache-dir --user torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir --user -r requirements.txt

COPY --chown=user . .
EXPOSE 7860

# `streamlit run app.py` serves app.py's st.App: its lifespan switches Nagle off on every
# connection and warms the imports and the default preset before the port answers.
CMD ["streamlit", "run", "app.py", "--server.port=7860", "--server.address=0.0.0.0", "--server.headless=true", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"]
